package io.rehearsal.streams;

import static io.rehearsal.streams.Given.json;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.streams.KeyValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every bad input goes to the dead letters, with where it came from, and the stream goes on. */
class DeadLetterTest {

    static List<Arguments> badSamples() {
        byte[] valid = InputSerde.samples().encode(sample("x", 1));
        Sample wrongShape = sample("x", 1);
        wrongShape.setFeatures(FeatureTensor.ofFloats(new int[] {5}, new float[5]));
        Sample nan = sample("x", 1);
        nan.setFeatures(FeatureTensor.ofFloats(new int[] {4}, new float[] {0, Float.NaN, 0, 0}));
        return List.of(
                Arguments.of("garbage bytes", new byte[] {1, 2, 3, 4}, "BAD_MARKER"),
                Arguments.of("empty value", new byte[0], "EMPTY"),
                Arguments.of("truncated Avro", Arrays.copyOf(valid, valid.length / 2), "MALFORMED_AVRO"),
                Arguments.of("malformed JSON", json("{\"id\":\"x\",\"features\":"), "MALFORMED_JSON"),
                Arguments.of("JSON without features", json("{\"id\":\"x\",\"label\":1}"), "MISSING_FIELD"),
                Arguments.of("NaN feature (JSON)", json("{\"id\":\"x\",\"label\":1,\"features\":{\"shape\":[4],\"float32\":[0,NaN,0,0]}}"), "NON_FINITE"),
                Arguments.of("NaN feature (Avro)", InputSerde.samples().avro().encode(nan), "NON_FINITE"),
                Arguments.of("wrong shape for the model", InputSerde.samples().avro().encode(wrongShape), "SHAPE_MISMATCH"),
                Arguments.of("label outside the classes", InputSerde.samples().encode(sample("x", 10)), "UNKNOWN_LABEL"),
                Arguments.of("negative label", json("{\"id\":\"x\",\"label\":-1,\"features\":{\"shape\":[4],\"float32\":[0,0,0,0]}}"), "INVALID_VALUE"),
                Arguments.of("EVAL sample without label", InputSerde.samples().encode(evalWithoutLabel()), "MISSING_LABEL"));
    }

    private static Sample evalWithoutLabel() {
        Sample s = Given.eval("x", 1);
        s.setLabel(null);
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badSamples")
    void shouldDeadLetterABadSampleAndKeepTraining(String what, byte[] payload, String reason) {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            // Given a good sample, then the bad one, then another good one
            curator.sample(sample("good0", 1));
            byte[] key = "bad-key".getBytes(StandardCharsets.UTF_8);
            curator.sample(key, payload);
            curator.sample(sample("good1", 2));
            // Then the bad one is a dead letter naming its topic, partition, offset, key, bytes and reason
            List<KeyValue<byte[], DeadLetter>> letters = curator.deadLetterRecords();
            assertThat(letters).hasSize(1);
            DeadLetter d = letters.get(0).value;
            assertThat(d.getReason()).isEqualTo(reason);
            assertThat(d.getSourceTopic()).isEqualTo("in-process.samples");
            assertThat(d.getSourcePartition()).isZero();
            assertThat(d.getSourceOffset()).isEqualTo(1);
            assertThat(letters.get(0).key).isEqualTo(key);
            assertThat(d.getPayload().array()).isEqualTo(payload);
            assertThat(d.getComponent()).isEqualTo("curator");
            assertThat(d.getMessage()).isNotBlank();
            // and both good samples are trained
            assertThat(curator.batches()).flatExtracting(b -> Given.ids(b, ItemRole.FRESH)).containsExactly("good0", "good1");
        }
    }

    static List<Arguments> badFeedback() {
        return List.of(
                Arguments.of("garbage bytes", new byte[] {9, 9}, "BAD_MARKER"),
                Arguments.of("LABEL without label", json("{\"sampleId\":\"s0\",\"kind\":\"LABEL\"}"), "MISSING_FIELD"),
                Arguments.of("unknown kind", json("{\"sampleId\":\"s0\",\"kind\":\"MAYBE\"}"), "INVALID_VALUE"),
                Arguments.of("trust outside (0, 1]", json("{\"sampleId\":\"s0\",\"kind\":\"CONFIRM\",\"trust\":2}"), "INVALID_VALUE"),
                Arguments.of("LABEL outside the classes", json("{\"sampleId\":\"s0\",\"kind\":\"LABEL\",\"label\":12}"), "UNKNOWN_LABEL"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFeedback")
    void shouldDeadLetterBadFeedback(String what, byte[] payload, String reason) {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            curator.sample(sample("s0", 1));
            curator.feedback("s0".getBytes(StandardCharsets.UTF_8), payload);
            List<DeadLetter> letters = curator.deadLetters();
            assertThat(letters).extracting(DeadLetter::getReason).containsExactly(reason);
            assertThat(letters.get(0).getSourceTopic()).isEqualTo("in-process.feedback");
            assertThat(curator.entry("s0").label()).isEqualTo(1);
        }
    }

    @Test
    void shouldDeadLetterADuplicateSampleId() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings())) {
            curator.sample(sample("s0", 1));
            curator.sample(sample("s0", 2));
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason).containsExactly("DUPLICATE_SAMPLE");
            assertThat(curator.entry("s0").label()).isEqualTo(1);
        }
    }

    @Test
    void shouldApplyEachModelsOwnContract() {
        // Given model "wide" takes 8 features and 3 classes; every other model the default 4 features, 10 classes
        CuratorSettings s = Given.settings().optContract("wide", ModelContract.flat(8, 3));
        try (InProcessCurator curator = new InProcessCurator(s)) {
            Sample wide = Given.sample("wide", "w0", 1);
            wide.setFeatures(FeatureTensor.ofFloats(new int[] {2, 4}, new float[8]));
            curator.sample(wide);
            curator.sample(Given.sample("wide", "w1", 1));  // 4 features: wrong for "wide"
            Sample wideLabel = Given.sample("wide", "w2", 5); // class 5 of 3
            wideLabel.setFeatures(FeatureTensor.ofFloats(new int[] {8}, new float[8]));
            curator.sample(wideLabel);
            assertThat(curator.deadLetters()).extracting(DeadLetter::getReason).containsExactly("SHAPE_MISMATCH", "UNKNOWN_LABEL");
            assertThat(curator.entry("w0")).isNotNull();
        }
    }
}
