package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.schemas.RecordDecodeException.Reason;
import io.rehearsal.schemas.avro.DType;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import org.junit.jupiter.api.Test;

class InputSerdeTest {
    private final InputSerde<Sample> samples = InputSerde.samples();
    private final InputSerde<Feedback> feedback = InputSerde.feedback();

    @Test
    void shouldDecodeTheDocumentedJsonSampleToTheSameRecordAsAvro() {
        String json = """
                {"id":"s1","modelId":"fashion","features":{"shape":[2,2],"float32":[0.0,0.25,0.5,1.0]},
                 "label":3,"split":"TRAIN","task":"t1","source":"test","eventTime":"2026-11-28T00:00:00Z"}""";

        Sample fromJson = samples.decode(JsonCodec.bytes(json));
        Sample fromAvro = samples.decode(samples.encode(Fixtures.sample()));

        assertThat(fromJson).isEqualTo(fromAvro).isEqualTo(Fixtures.sample());
    }

    @Test
    void shouldRoundTripSampleThroughItsJsonForm() {
        Sample original = Fixtures.sample();

        assertThat(samples.decode(JsonCodec.bytes(JsonCodec.toJson(original)))).isEqualTo(original);
    }

    @Test
    void shouldAcceptUint8FeaturesAndDefaults() {
        Sample s = samples.decode(JsonCodec.bytes("  {\"id\":\"u\",\"features\":{\"shape\":[3],\"uint8\":[0,128,255]}}"));

        assertThat(s.getModelId()).isEqualTo("default");
        assertThat(s.getLabel()).isNull();
        assertThat(s.getSplit()).isEqualTo(Split.TRAIN);
        assertThat(s.getFeatures().getDtype()).isEqualTo(DType.UINT8);
        assertThat(FeatureTensor.toFloats(s.getFeatures())).containsExactly(0f, 128 / 255f, 1f);
    }

    @Test
    void shouldNameAFieldOfTheWrongJsonType() {
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1],\"float32\":[1]},\"label\":\"three\"}",
                Reason.WRONG_TYPE, "field \"label\" must be an integer");
        assertRefused(samples, "{\"id\":7,\"features\":{\"shape\":[1],\"float32\":[1]}}",
                Reason.WRONG_TYPE, "field \"id\" must be a string");
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1],\"float32\":[\"x\"]}}",
                Reason.WRONG_TYPE, "features.float32[0]");
    }

    @Test
    void shouldNameAMissingField() {
        assertRefused(samples, "{\"features\":{\"shape\":[1],\"float32\":[1]}}", Reason.MISSING_FIELD, "\"id\"");
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1]}}", Reason.MISSING_FIELD, "exactly one of");
    }

    @Test
    void shouldRefuseAShapeThatDoesNotMatchTheData() {
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[784],\"float32\":[1,2,3]}}",
                Reason.SHAPE_MISMATCH, "features.shape [784] needs 784 float32 elements");
        Sample bad = Fixtures.sample();
        bad.setFeatures(FeatureTensor.ofFloats(new int[] {3}, new float[] {1, 2}));
        assertThatThrownBy(() -> samples.decode(samples.encode(bad)))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.SHAPE_MISMATCH));
    }

    @Test
    void shouldRefuseNaNAndInfinityInJsonAndAvro() {
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[2],\"float32\":[1, NaN]}}", Reason.NON_FINITE, "feature 1 is NaN");
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1],\"float32\":[1e400]}}", Reason.NON_FINITE, "Infinity");
        Sample bad = Fixtures.sample();
        bad.setFeatures(FeatureTensor.ofFloats(new int[] {2}, new float[] {Float.NEGATIVE_INFINITY, 0}));
        assertThatThrownBy(() -> samples.decode(samples.encode(bad)))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NON_FINITE));
    }

    @Test
    void shouldRefuseGarbageAndBrokenJson() {
        assertRefused(samples, "hello", Reason.BAD_MARKER, "neither Avro single-object encoding");
        assertRefused(samples, "{\"id\":", Reason.MALFORMED_JSON, "not well-formed JSON");
        assertRefused(samples, "{\"id\":\"a\",\"id\":\"b\",\"features\":{\"shape\":[1],\"float32\":[1]}}",
                Reason.MALFORMED_JSON, "Duplicate field");
    }

    @Test
    void shouldRefuseNegativeLabelsAndBadEnums() {
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1],\"float32\":[1]},\"label\":-1}",
                Reason.INVALID_VALUE, "negative");
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[1],\"float32\":[1]},\"split\":\"TEST\"}",
                Reason.INVALID_VALUE, "expected one of [TRAIN, EVAL]");
        assertRefused(samples, "{\"id\":\"s1\",\"features\":{\"shape\":[0],\"float32\":[]}}",
                Reason.INVALID_VALUE, "dimension <= 0");
    }

    @Test
    void shouldDecodeFeedbackJsonAndCheckIt() {
        Feedback f = feedback.decode(JsonCodec.bytes("{\"sampleId\":\"s1\",\"kind\":\"label\",\"label\":4,\"trust\":0.5}"));

        assertThat(f.getKind()).isEqualTo(FeedbackKind.LABEL);
        assertThat(f.getLabel()).isEqualTo(4);
        assertThat(f.getTrust()).isEqualTo(0.5f);
        assertThat(feedback.decode(JsonCodec.bytes(JsonCodec.toJson(Fixtures.feedback())))).isEqualTo(Fixtures.feedback());

        assertRefused(feedback, "{\"sampleId\":\"s1\",\"kind\":\"LABEL\"}", Reason.MISSING_FIELD, "has no label");
        assertRefused(feedback, "{\"sampleId\":\"s1\",\"kind\":\"CONFIRM\",\"trust\":2}", Reason.INVALID_VALUE, "outside (0, 1]");
        assertRefused(feedback, "{\"sampleId\":\"s1\",\"kind\":\"MAYBE\"}", Reason.INVALID_VALUE, "LABEL, CONFIRM, REJECT");
    }

    private static void assertRefused(InputSerde<?> serde, String text, Reason reason, String messagePart) {
        assertThatThrownBy(() -> serde.decode(JsonCodec.bytes(text)))
                .as(text)
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(reason))
                .hasMessageContaining(messagePart);
    }
}
