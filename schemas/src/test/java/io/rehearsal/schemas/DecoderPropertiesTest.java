package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThatCode;

import io.rehearsal.schemas.avro.FeedbackKind;
import java.util.function.Consumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever bytes arrive, the input decoders either return a valid record or throw RecordDecodeException:
 * no other exception, no error (an OutOfMemoryError from a huge length claimed by a corrupt body would
 * kill the curator), for samples and for feedback.
 */
class DecoderPropertiesTest {
    private static final byte[] VALID = InputSerde.samples().encode(Fixtures.sample());
    private static final byte[] VALID_FEEDBACK = InputSerde.feedback().encode(Fixtures.feedback());

    @Property(tries = 2000)
    void randomBytesNeverEscapeAsAnythingButRecordDecodeException(@ForAll("garbage") byte[] bytes) {
        assertThatCode(() -> decodeOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Property(tries = 2000)
    void mutatedValidRecordsNeverEscapeAsAnythingButRecordDecodeException(@ForAll("mutations") byte[] bytes) {
        assertThatCode(() -> decodeOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Property(tries = 2000)
    void randomFeedbackBytesNeverEscapeAsAnythingButRecordDecodeException(@ForAll("feedbackGarbage") byte[] bytes) {
        assertThatCode(() -> decodeFeedbackOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Property(tries = 2000)
    void mutatedValidFeedbackNeverEscapesAsAnythingButRecordDecodeException(@ForAll("feedbackMutations") byte[] bytes) {
        assertThatCode(() -> decodeFeedbackOrRefuse(bytes)).doesNotThrowAnyException();
    }

    @Property(tries = 1000)
    void jsonFeedbackOfAnyShapeNeverEscapesAsAnythingButRecordDecodeException(@ForAll("jsonFeedback") String json) {
        assertThatCode(() -> decodeFeedbackOrRefuse(JsonCodec.bytes(json))).doesNotThrowAnyException();
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        return garbageAround(VALID);
    }

    @Provide
    Arbitrary<byte[]> feedbackGarbage() {
        return garbageAround(VALID_FEEDBACK);
    }

    @Provide
    Arbitrary<byte[]> mutations() {
        return mutationsOf(VALID);
    }

    @Provide
    Arbitrary<byte[]> feedbackMutations() {
        return mutationsOf(VALID_FEEDBACK);
    }

    /** JSON objects whose fields take values of every type, including wrong and extreme ones. */
    @Provide
    Arbitrary<String> jsonFeedback() {
        Arbitrary<String> anyValue = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(8).map(s -> "\"" + s.replace("\\", "").replace("\"", "") + "\""),
                Arbitraries.integers().map(Object::toString),
                Arbitraries.longs().map(Object::toString),
                Arbitraries.of("NaN", "Infinity", "-Infinity", "1e400", "-0", "0.5", "null", "true", "[]", "{}", "[1,\"x\"]",
                        "\"LABEL\"", "\"CONFIRM\"", "\"REJECT\"", "\"label\"", "\"2026-11-28T10:15:30Z\"", "\"not a time\""));
        Arbitrary<String> field = Arbitraries.of("sampleId", "modelId", "kind", "label", "annotator", "trust",
                "predictedLabel", "modelVersion", "eventTime", "extra");
        return Arbitraries.entries(field, anyValue).list().ofMaxSize(9)
                .map(entries -> {
                    StringBuilder sb = new StringBuilder("{");
                    for (var e : entries) {
                        sb.append(sb.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":").append(e.getValue());
                    }
                    return sb.append('}').toString();
                });
    }

    private static Arbitrary<byte[]> garbageAround(byte[] valid) {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(256);
        Arbitrary<byte[]> withMarker = random.map(b -> {
            byte[] out = new byte[b.length + 10];
            out[0] = (byte) 0xC3;
            out[1] = 0x01;
            System.arraycopy(valid, 2, out, 2, 8); // a known fingerprint, then garbage
            System.arraycopy(b, 0, out, 10, b.length);
            return out;
        });
        Arbitrary<byte[]> json = Arbitraries.strings().ofMaxLength(120).map(s -> JsonCodec.bytes("{" + s));
        return Arbitraries.oneOf(random, withMarker, json);
    }

    private static Arbitrary<byte[]> mutationsOf(byte[] valid) {
        return Arbitraries.integers().between(0, valid.length - 1).list().ofMinSize(1).ofMaxSize(4)
                .flatMap(positions -> Arbitraries.bytes().list().ofSize(positions.size()).map(values -> {
                    byte[] out = valid.clone();
                    for (int i = 0; i < positions.size(); i++) {
                        out[positions.get(i)] = values.get(i);
                    }
                    return out;
                }));
    }

    private static void decodeOrRefuse(byte[] bytes) {
        refuseOrCheck(() -> InputSerde.samples().decode(bytes),
                s -> FeatureTensor.validate(s.getFeatures(), s.getId())); // a decoded sample is always valid
    }

    private static void decodeFeedbackOrRefuse(byte[] bytes) {
        refuseOrCheck(() -> InputSerde.feedback().decode(bytes), f -> {
            // a decoded feedback is always usable: it names a sample, a LABEL has a label >= 0, trust in (0, 1]
            if (f.getSampleId().isEmpty() || (f.getKind() == FeedbackKind.LABEL && (f.getLabel() == null || f.getLabel() < 0))
                    || !(f.getTrust() > 0 && f.getTrust() <= 1) || f.getEventTime() == null) {
                throw new AssertionError("decoded feedback that is not usable: " + f);
            }
        });
    }

    private static <T> void refuseOrCheck(java.util.function.Supplier<T> decode, Consumer<T> check) {
        T record;
        try {
            record = decode.get();
        } catch (RecordDecodeException expected) {
            return; // refused with a named reason: fine
        }
        check.accept(record);
    }
}
