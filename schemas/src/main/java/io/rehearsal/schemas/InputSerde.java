package io.rehearsal.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import io.rehearsal.schemas.RecordDecodeException.Reason;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serde for the two input topics, where producers may write either form, detected per record: Avro
 * single-object encoding (first byte {@code 0xC3}) or a JSON object (first non-blank byte {@code '{'}).
 * Every decoded record is validated (features finite and matching their shape, labels non-negative,
 * feedback complete), so a record that decodes is a record the curator can use. It always writes Avro.
 *
 * @param <T> Sample or Feedback
 */
public final class InputSerde<T extends SpecificRecord> implements Serde<T> {
    private final AvroSerde<T> avro;
    private final Function<JsonNode, T> fromJson;
    private final Consumer<T> validator;

    private InputSerde(AvroSerde<T> avro, Function<JsonNode, T> fromJson, Consumer<T> validator) {
        this.avro = avro;
        this.fromJson = fromJson;
        this.validator = validator;
    }

    /** Serde for {@code rehearsal.samples}. */
    public static InputSerde<Sample> samples() {
        return new InputSerde<>(AvroSerde.of(Sample.class), JsonCodec::sample, InputSerde::validateSample);
    }

    /** Serde for {@code rehearsal.feedback}. */
    public static InputSerde<Feedback> feedback() {
        return new InputSerde<>(AvroSerde.of(Feedback.class), JsonCodec::feedback, InputSerde::validateFeedback);
    }

    public AvroSerde<T> avro() {
        return avro;
    }

    /**
     * Decodes and validates one record.
     *
     * @throws RecordDecodeException naming what was wrong
     */
    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new RecordDecodeException(Reason.EMPTY, "empty payload; send Avro single-object bytes or a JSON object");
        }
        T record;
        if ((bytes[0] & 0xff) == 0xC3) {
            record = avro.decode(bytes);
        } else if (firstNonBlank(bytes) == '{') {
            record = fromJson.apply(JsonCodec.parse(bytes));
        } else {
            throw new RecordDecodeException(Reason.BAD_MARKER, String.format(
                    "payload starts with %s: neither Avro single-object encoding (C3 01 ...) nor a JSON object ({...})",
                    AvroSerde.head(bytes)));
        }
        validator.accept(record);
        return record;
    }

    public byte[] encode(T record) {
        return avro.encode(record);
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, data) -> data == null ? null : encode(data);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, data) -> data == null ? null : decode(data);
    }

    /**
     * Longest sample id, model id or task: they become record keys, metric labels and parts of every message
     * about the sample, so an id of megabytes would make each of those too large.
     */
    public static final int MAX_ID_CHARS = 256;
    /** Longest free-text field (source, annotator). */
    public static final int MAX_TEXT_CHARS = 1024;

    private static void checkLength(String field, String value, int max, String sampleId) {
        if (value != null && value.length() > max) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, String.format("%s%s is %,d characters long; at most %d "
                    + "are allowed", sampleId == null ? "" : "sample " + DeadLetters.cut(sampleId, 64) + ": ", field,
                    value.length(), max));
        }
    }

    private static int firstNonBlank(byte[] bytes) {
        for (byte b : bytes) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return b;
            }
        }
        return -1;
    }

    static void validateSample(Sample s) {
        if (s.getId().isEmpty()) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, "sample id is empty");
        }
        checkLength("sample id", s.getId(), MAX_ID_CHARS, null);
        if (s.getModelId().isEmpty()) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, "sample " + s.getId() + ": modelId is empty");
        }
        checkLength("modelId", s.getModelId(), MAX_ID_CHARS, s.getId());
        checkLength("task", s.getTask(), MAX_ID_CHARS, s.getId());
        checkLength("source", s.getSource(), MAX_TEXT_CHARS, s.getId());
        if (s.getLabel() != null && s.getLabel() < 0) {
            throw new RecordDecodeException(Reason.INVALID_VALUE,
                    "sample " + s.getId() + ": label " + s.getLabel() + " is negative; labels are class ids from 0");
        }
        FeatureTensor.validate(s.getFeatures(), s.getId());
    }

    static void validateFeedback(Feedback f) {
        if (f.getSampleId().isEmpty()) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, "feedback sampleId is empty");
        }
        checkLength("feedback sampleId", f.getSampleId(), MAX_ID_CHARS, null);
        checkLength("modelId", f.getModelId(), MAX_ID_CHARS, f.getSampleId());
        checkLength("annotator", f.getAnnotator(), MAX_TEXT_CHARS, f.getSampleId());
        if (f.getKind() == FeedbackKind.LABEL && f.getLabel() == null) {
            throw new RecordDecodeException(Reason.MISSING_FIELD,
                    "LABEL feedback for sample " + f.getSampleId() + " has no label; give the correct class id");
        }
        if (f.getLabel() != null && f.getLabel() < 0) {
            throw new RecordDecodeException(Reason.INVALID_VALUE,
                    "feedback for sample " + f.getSampleId() + ": label " + f.getLabel() + " is negative");
        }
        float trust = f.getTrust();
        if (!(trust > 0f && trust <= 1f)) {
            throw new RecordDecodeException(Reason.INVALID_VALUE,
                    "feedback for sample " + f.getSampleId() + ": trust " + trust + " is outside (0, 1]");
        }
    }
}
