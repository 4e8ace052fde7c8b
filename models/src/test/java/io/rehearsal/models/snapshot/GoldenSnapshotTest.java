package io.rehearsal.models.snapshot;

import io.rehearsal.models.runtime.NamedTensor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.SyntheticStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A snapshot written by format version 1 and committed as a resource: every later version of the
 * code must still read it, verify it and predict the same. Regenerate only on purpose, with
 * {@code -Drehearsal.golden.write=true} (writes into src/test/resources).
 */
class GoldenSnapshotTest {
    private static final String KEY = "golden-signing-key-0123456789";
    private static final ModelSpec SPEC = ModelSpec.mlp(4, 3, 5);
    private static final String DIR = "src/test/resources/io/rehearsal/models/snapshot/";
    private static final float[] PROBE = {0.5f, -1f, 2f, 0.25f};
    private static final AvroSerde<ModelSnapshot> SERDE = AvroSerde.of(ModelSnapshot.class);

    @Test
    void shouldReadVerifyAndPredictWithTheCommittedFormatVersion1Snapshot() throws IOException {
        if (Boolean.getBoolean("rehearsal.golden.write")) {
            write();
        }
        ModelSnapshot snapshot = SERDE.decode(resource("golden-v1.snapshot"));
        assertThat(snapshot.getFormatVersion()).isEqualTo(1);
        List<NamedTensor> params = SnapshotCodec.parameters(snapshot, ref -> null, Optional.of(new SnapshotSigner(KEY)));
        assertThat(params).extracting(NamedTensor::toString).containsExactly("02Linear_weight[5, 4]", "02Linear_bias[5]",
                "03LayerNorm_gamma[5]", "03LayerNorm_beta[5]", "05Linear_weight[3, 5]", "05Linear_bias[3]");
        float[] expected = parse(new String(resource("golden-v1.expected"), StandardCharsets.US_ASCII));
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("golden", ModelSpec.fromAvro(snapshot.getSpec()))
                .build())) {
            t.loadParameters(params);
            float[] actual = t.probabilities(List.of(PROBE))[0];
            for (int k = 0; k < expected.length; k++) {
                assertThat(actual[k]).isCloseTo(expected[k], within(1e-6f));
            }
        }
    }

    private static void write() throws IOException {
        SyntheticStream stream = new SyntheticStream("golden", 4, 3, 11);
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("golden", SPEC).optSeed(11).build())) {
            for (int i = 0; i < 10; i++) {
                t.train(stream.trainBatch(8, 2));
            }
            byte[] blob = SnapshotCodec.encodeParameters(t.parameters());
            ModelSnapshot snapshot = SnapshotCodec.snapshot("golden", 3, 2L, 10, Instant.parse("2026-11-28T00:00:00Z"),
                    SPEC.toAvro(), blob, List.of(),
                    new SnapshotMetrics(160L, 0.5, 0.4, 0.1, 0.75, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                    new Provenance(Map.of("seed", "11"), 11L, List.of(), List.of(), 0, "0.1.0-SNAPSHOT", "golden",
                            "17", "0.36.0", "2.7.1", "cpu()", "golden"), Optional.of(new SnapshotSigner(KEY)));
            Files.write(Path.of(DIR, "golden-v1.snapshot"), SERDE.encode(snapshot));
            Files.writeString(Path.of(DIR, "golden-v1.expected"), Arrays.toString(t.probabilities(List.of(PROBE))[0]));
        }
    }

    private static float[] parse(String text) {
        String[] parts = text.replace("[", "").replace("]", "").split(",");
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            out[i] = Float.parseFloat(parts[i].trim());
        }
        return out;
    }

    private static byte[] resource(String name) throws IOException {
        try (InputStream in = GoldenSnapshotTest.class.getResourceAsStream(name)) {
            assertThat(in).as("resource " + name + " (regenerate with -Drehearsal.golden.write=true)").isNotNull();
            return in.readAllBytes();
        }
    }
}
