package io.rehearsal.schemas;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.rehearsal.schemas.RecordDecodeException.Reason;
import io.rehearsal.schemas.avro.DType;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScoredLabel;
import io.rehearsal.schemas.avro.Split;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/**
 * The documented JSON form of {@link Sample} and {@link Feedback} (so a producer can be {@code kcat} or
 * a shell script), and JSON output for {@link Prediction}. See docs/topics.md for the shapes:
 *
 * <pre>{@code
 * {"id":"s1","modelId":"fashion","features":{"shape":[784],"float32":[0.0, ...]},"label":3,
 *  "split":"TRAIN","task":"t0","source":"kcat","eventTime":1732752000000}
 * {"sampleId":"s1","kind":"LABEL","label":3,"annotator":"ann","trust":1.0}
 * }</pre>
 *
 * Features may be {@code "float32":[...]} or {@code "uint8":[...]} (integers 0-255). {@code eventTime} is
 * epoch milliseconds or an ISO-8601 instant, and defaults to the time of decoding. Every problem is a
 * {@link RecordDecodeException} naming the field.
 */
public final class JsonCodec {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // so NaN arrives as NON_FINITE, not MALFORMED_JSON
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .build();

    private JsonCodec() {
    }

    /** The shared, configured mapper (thread-safe). */
    public static ObjectMapper mapper() {
        return MAPPER;
    }

    public static JsonNode parse(byte[] bytes) {
        try {
            JsonNode node = MAPPER.readTree(bytes);
            if (node == null || !node.isObject()) {
                throw new RecordDecodeException(Reason.MALFORMED_JSON, "expected one JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new RecordDecodeException(Reason.MALFORMED_JSON, "not well-formed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new RecordDecodeException(Reason.MALFORMED_JSON, "cannot read JSON: " + e.getMessage(), e);
        }
    }

    public static Sample sample(JsonNode node) {
        Sample.Builder b = Sample.newBuilder()
                .setId(requiredString(node, "id"))
                .setModelId(optionalString(node, "modelId", "default"))
                .setFeatures(features(required(node, "features"), "features"))
                .setLabel(optionalInt(node, "label"))
                .setTask(optionalString(node, "task", null))
                .setSource(optionalString(node, "source", null))
                .setEventTime(eventTime(node));
        String split = optionalString(node, "split", null);
        if (split != null) {
            b.setSplit(enumValue(Split.class, split, "split"));
        }
        return b.build();
    }

    public static Feedback feedback(JsonNode node) {
        Feedback.Builder b = Feedback.newBuilder()
                .setSampleId(requiredString(node, "sampleId"))
                .setModelId(optionalString(node, "modelId", "default"))
                .setKind(enumValue(FeedbackKind.class, requiredString(node, "kind"), "kind"))
                .setLabel(optionalInt(node, "label"))
                .setAnnotator(optionalString(node, "annotator", null))
                .setPredictedLabel(optionalInt(node, "predictedLabel"))
                .setModelVersion(optionalLong(node, "modelVersion"))
                .setEventTime(eventTime(node));
        JsonNode trust = node.get("trust");
        if (trust != null && !trust.isNull()) {
            if (!trust.isNumber()) {
                throw wrongType("trust", "a number in (0, 1]", trust);
            }
            b.setTrust(trust.floatValue());
        }
        return b.build();
    }

    /** JSON text of a sample, in the documented shape (features as float32 or uint8 arrays). */
    public static String toJson(Sample sample) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("id", sample.getId());
        o.put("modelId", sample.getModelId());
        ObjectNode f = o.putObject("features");
        ArrayNode shape = f.putArray("shape");
        sample.getFeatures().getShape().forEach(shape::add);
        if (sample.getFeatures().getDtype() == DType.FLOAT32) {
            ArrayNode data = f.putArray("float32");
            for (float v : FeatureTensor.toFloats(sample.getFeatures())) {
                data.add(v);
            }
        } else {
            ArrayNode data = f.putArray("uint8");
            var buffer = sample.getFeatures().getData().duplicate();
            while (buffer.hasRemaining()) {
                data.add(buffer.get() & 0xff);
            }
        }
        if (sample.getLabel() != null) {
            o.put("label", sample.getLabel());
        }
        o.put("split", sample.getSplit().name());
        if (sample.getTask() != null) {
            o.put("task", sample.getTask());
        }
        if (sample.getSource() != null) {
            o.put("source", sample.getSource());
        }
        o.put("eventTime", sample.getEventTime().toEpochMilli());
        return o.toString();
    }

    /** JSON text of feedback, in the documented shape. */
    public static String toJson(Feedback feedback) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("sampleId", feedback.getSampleId());
        o.put("modelId", feedback.getModelId());
        o.put("kind", feedback.getKind().name());
        if (feedback.getLabel() != null) {
            o.put("label", feedback.getLabel());
        }
        if (feedback.getAnnotator() != null) {
            o.put("annotator", feedback.getAnnotator());
        }
        o.put("trust", feedback.getTrust());
        if (feedback.getPredictedLabel() != null) {
            o.put("predictedLabel", feedback.getPredictedLabel());
        }
        if (feedback.getModelVersion() != null) {
            o.put("modelVersion", feedback.getModelVersion());
        }
        o.put("eventTime", feedback.getEventTime().toEpochMilli());
        return o.toString();
    }

    /** A prediction as a JSON object (for HTTP answers and logs). */
    public static ObjectNode toJson(Prediction p) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("sampleId", p.getSampleId());
        o.put("modelId", p.getModelId());
        o.put("label", p.getLabel());
        o.put("confidence", p.getConfidence());
        ArrayNode top = o.putArray("topK");
        for (ScoredLabel s : p.getTopK()) {
            top.addObject().put("label", s.getLabel()).put("probability", s.getProbability());
        }
        o.put("modelVersion", p.getModelVersion());
        o.put("predictedTime", p.getPredictedTime().toEpochMilli());
        return o;
    }

    /** UTF-8 bytes of a JSON text. */
    public static byte[] bytes(String json) {
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private static Features features(JsonNode node, String field) {
        if (!node.isObject()) {
            throw wrongType(field, "an object {\"shape\":[...],\"float32\":[...]}", node);
        }
        JsonNode shapeNode = required(node, "shape", field + ".shape");
        if (!shapeNode.isArray()) {
            throw wrongType(field + ".shape", "an array of positive integers", shapeNode);
        }
        int[] shape = new int[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToInt()) {
                throw wrongType(field + ".shape[" + i + "]", "an integer", d);
            }
            shape[i] = d.intValue();
        }
        JsonNode floats = node.get("float32");
        JsonNode bytes = node.get("uint8");
        if ((floats == null) == (bytes == null)) {
            throw new RecordDecodeException(Reason.MISSING_FIELD,
                    field + " needs exactly one of \"float32\" (array of numbers) or \"uint8\" (array of 0-255)");
        }
        Features features;
        if (floats != null) {
            if (!floats.isArray()) {
                throw wrongType(field + ".float32", "an array of numbers", floats);
            }
            float[] values = new float[floats.size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode v = floats.get(i);
                if (!v.isNumber()) {
                    throw wrongType(field + ".float32[" + i + "]", "a number", v);
                }
                values[i] = v.floatValue();
            }
            features = FeatureTensor.ofFloats(shape, values);
        } else {
            if (!bytes.isArray()) {
                throw wrongType(field + ".uint8", "an array of integers 0-255", bytes);
            }
            byte[] values = new byte[bytes.size()];
            for (int i = 0; i < values.length; i++) {
                JsonNode v = bytes.get(i);
                if (!v.isIntegralNumber() || v.intValue() < 0 || v.intValue() > 255) {
                    throw wrongType(field + ".uint8[" + i + "]", "an integer 0-255", v);
                }
                values[i] = (byte) v.intValue();
            }
            features = FeatureTensor.ofBytes(shape, values);
        }
        return features;
    }

    private static Instant eventTime(JsonNode node) {
        JsonNode t = node.get("eventTime");
        if (t == null || t.isNull()) {
            return Instant.now();
        }
        if (t.isIntegralNumber() && t.canConvertToLong()) {
            return Instant.ofEpochMilli(t.longValue());
        }
        if (t.isTextual()) {
            try {
                return Instant.parse(t.textValue());
            } catch (DateTimeParseException e) {
                throw new RecordDecodeException(Reason.INVALID_VALUE,
                        "eventTime \"" + t.textValue() + "\" is not an ISO-8601 instant like 2026-11-28T10:15:30Z", e);
            }
        }
        throw wrongType("eventTime", "epoch milliseconds or an ISO-8601 string", t);
    }

    private static JsonNode required(JsonNode node, String field) {
        return required(node, field, field);
    }

    private static JsonNode required(JsonNode node, String field, String path) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            throw new RecordDecodeException(Reason.MISSING_FIELD, "missing required field \"" + path + "\"");
        }
        return v;
    }

    private static String requiredString(JsonNode node, String field) {
        JsonNode v = required(node, field);
        if (!v.isTextual()) {
            throw wrongType(field, "a string", v);
        }
        if (v.textValue().isEmpty()) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, "field \"" + field + "\" is empty");
        }
        return v.textValue();
    }

    private static String optionalString(JsonNode node, String field, String fallback) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isTextual()) {
            throw wrongType(field, "a string", v);
        }
        return v.textValue();
    }

    private static Integer optionalInt(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw wrongType(field, "an integer", v);
        }
        return v.intValue();
    }

    private static Long optionalLong(JsonNode node, String field) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw wrongType(field, "an integer", v);
        }
        return v.longValue();
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, String text, String field) {
        try {
            return Enum.valueOf(type, text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new RecordDecodeException(Reason.INVALID_VALUE, String.format("field \"%s\" is \"%s\"; expected one of %s",
                    field, text, java.util.Arrays.toString(type.getEnumConstants())), e);
        }
    }

    private static RecordDecodeException wrongType(String field, String expected, JsonNode actual) {
        String shown = actual.toString();
        if (shown.length() > 40) {
            shown = shown.substring(0, 40) + "...";
        }
        return new RecordDecodeException(Reason.WRONG_TYPE, String.format(
                "field \"%s\" must be %s, found %s %s", field, expected, actual.getNodeType().name().toLowerCase(Locale.ROOT), shown));
    }
}
