package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.TrainBatch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Schemas evolve without breaking anyone: every released version stays readable by the current schema
 * (backward) and can read what the current schema writes (forward), and bytes written by each
 * released version (golden files, {@code golden/<Record>.v<N>.bin}) still decode.
 */
class SchemaCompatibilityTest {
    private static final List<Class<? extends SpecificRecord>> RECORDS = List.of(Sample.class, Feedback.class,
            TrainBatch.class, ModelSnapshot.class, SnapshotChunk.class, Prediction.class, DeadLetter.class,
            io.rehearsal.schemas.avro.SampleFeatures.class, Promotion.class, ModelCommand.class);
    /**
     * Released versions whose readers need not read what the current schema writes: records between two of
     * rehearsal's own components, whose readers are upgraded first (docs/topics.md says so for each). TrainBatch
     * version 2 made an item's features optional (they travel on rehearsal.features): a version 1 trainer cannot
     * read a version 2 batch, so trainers are upgraded before curators.
     */
    private static final java.util.Set<String> BACKWARD_ONLY = java.util.Set.of("TrainBatch.v1.avsc");

    @Test
    void shouldHaveAReleasedVersionOfEveryRecord() {
        Map<String, Long> released = SchemaHistory.all().stream()
                .collect(Collectors.groupingBy(SchemaHistory.Released::recordName, Collectors.counting()));

        assertThat(released.keySet()).containsExactlyInAnyOrderElementsOf(
                RECORDS.stream().map(Class::getSimpleName).toList());
    }

    @Test
    void shouldStayBackwardAndForwardCompatibleWithEveryReleasedVersion() {
        for (Class<? extends SpecificRecord> type : RECORDS) {
            Schema current = SpecificData.get().getSchema(type);
            for (SchemaHistory.Released r : SchemaHistory.all()) {
                if (!r.schema().getFullName().equals(current.getFullName())) {
                    continue;
                }
                Schema released = r.schema();
                var backward = SchemaCompatibility.checkReaderWriterCompatibility(current, released);
                var forward = SchemaCompatibility.checkReaderWriterCompatibility(released, current);

                assertThat(backward.getType()).as("current %s reads released: %s", type.getSimpleName(), backward.getDescription())
                        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
                if (!BACKWARD_ONLY.contains(r.file())) {
                    assertThat(forward.getType()).as("released %s reads current: %s", type.getSimpleName(), forward.getDescription())
                            .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
                }
            }
        }
    }

    @Test
    void shouldReleaseTheCurrentSchemaOfEveryRecord() {
        // a schema change without a release would write bytes whose fingerprint no released list knows
        for (Class<? extends SpecificRecord> type : RECORDS) {
            Schema current = SpecificData.get().getSchema(type);
            List<Schema> released = SchemaHistory.of(current);

            assertThat(SchemaNormalization.parsingFingerprint64(released.get(released.size() - 1)))
                    .as("the newest released %s is the current schema; release it (see SchemaHistory)", type.getSimpleName())
                    .isEqualTo(SchemaNormalization.parsingFingerprint64(current));
        }
    }

    @Test
    void shouldHoldTheCurrentModelSnapshotToReleasedVersions1To4() {
        // version 2 added the optional optimizerState blob, version 3 what `rehearsal report` reads from the metrics,
        // version 4 the optional architecture blob (a user's TorchScript network, by reference)
        assertThat(SchemaHistory.all()).extracting(SchemaHistory.Released::file)
                .contains("ModelSnapshot.v1.avsc", "ModelSnapshot.v2.avsc", "ModelSnapshot.v3.avsc", "ModelSnapshot.v4.avsc");
    }

    @Test
    void shouldDecodeTheGoldenBytesOfEveryReleasedVersion() throws IOException {
        for (SchemaHistory.Released released : SchemaHistory.all()) {
            String name = released.file().substring(0, released.file().length() - ".avsc".length()); // e.g. ModelSnapshot.v2
            int version = Integer.parseInt(name.substring(name.lastIndexOf(".v") + 2));
            byte[] golden;
            try (InputStream in = getClass().getResourceAsStream("/golden/" + name + ".bin")) {
                assertThat(in).as("golden file for %s (write it with GoldenFileWriter)", name).isNotNull();
                golden = in.readAllBytes();
            }
            SpecificRecord expected = Fixtures.of(released.recordName(), version);

            // written by that very version (its fingerprint), and read by the current code into the same record
            assertThat(ByteBuffer.wrap(golden, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong()).as("fingerprint of %s", name)
                    .isEqualTo(SchemaNormalization.parsingFingerprint64(released.schema()));
            assertThat(AvroSerde.of(expected.getClass()).decode(golden)).as(name).isEqualTo(expected);
        }
    }

    @Test
    void shouldReadVersion2SnapshotsWithTheVersion1SchemaIgnoringTheOptimizerState() throws IOException {
        // Given the golden version 2 snapshot, which carries an optimizer state blob
        byte[] golden;
        try (InputStream in = getClass().getResourceAsStream("/golden/ModelSnapshot.v2.bin")) {
            golden = in.readAllBytes();
        }
        Schema v1 = SchemaHistory.of(ModelSnapshot.getClassSchema()).get(0);
        Schema v2 = SchemaHistory.of(ModelSnapshot.getClassSchema()).get(1);

        // When a reader that knows only version 1 resolves it (as an older subscriber given the writer schema does)
        GenericRecord read = new GenericDatumReader<GenericRecord>(v2, v1)
                .read(null, DecoderFactory.get().binaryDecoder(golden, 10, golden.length - 10, null));

        // Then it gets the snapshot, weights included, and never sees the optimizer state
        assertThat(read.getSchema().getField("optimizerState")).isNull();
        assertThat(read.get("version")).isEqualTo(3L);
        assertThat(((GenericRecord) read.get("parameters")).get("sha256").toString()).isEqualTo("ab".repeat(32));
    }

    @Test
    void shouldKnowThatAVersion1TrainerCannotReadAVersion2BatchWhichIsWhyTrainersUpgradeFirst() {
        Schema v1 = SchemaHistory.of(TrainBatch.getClassSchema()).get(0);

        // the one exception to forward compatibility is deliberate, and documented in docs/topics.md
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(v1, TrainBatch.getClassSchema()).getType())
                .isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
    }
}
