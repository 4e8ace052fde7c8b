package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.TrainBatch;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

/**
 * Schemas evolve without breaking anyone: every released version stays readable by the current schema
 * (backward) and can read what the current schema writes (forward), and bytes written by each
 * released version (golden files) still decode.
 */
class SchemaCompatibilityTest {
    private static final List<Class<? extends SpecificRecord>> RECORDS = List.of(Sample.class, Feedback.class,
            TrainBatch.class, ModelSnapshot.class, SnapshotChunk.class, Prediction.class, DeadLetter.class);

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
            for (Schema released : SchemaHistory.of(current)) {
                var backward = SchemaCompatibility.checkReaderWriterCompatibility(current, released);
                var forward = SchemaCompatibility.checkReaderWriterCompatibility(released, current);

                assertThat(backward.getType()).as("current %s reads released: %s", type.getSimpleName(), backward.getDescription())
                        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
                assertThat(forward.getType()).as("released %s reads current: %s", type.getSimpleName(), forward.getDescription())
                        .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
            }
        }
    }

    @Test
    void shouldDecodeGoldenBytesWrittenByVersion1() throws IOException {
        Map<Class<?>, SpecificRecord> expected = Map.of(
                Sample.class, Fixtures.sample(), Feedback.class, Fixtures.feedback(),
                TrainBatch.class, Fixtures.trainBatch(), ModelSnapshot.class, Fixtures.modelSnapshot(),
                SnapshotChunk.class, Fixtures.snapshotChunk(), Prediction.class, Fixtures.prediction(),
                DeadLetter.class, Fixtures.deadLetter());
        for (Class<? extends SpecificRecord> type : RECORDS) {
            byte[] golden;
            try (InputStream in = getClass().getResourceAsStream("/golden/" + type.getSimpleName() + ".v1.bin")) {
                assertThat(in).as("golden file for %s", type.getSimpleName()).isNotNull();
                golden = in.readAllBytes();
            }

            assertThat(AvroSerde.of(type).decode(golden)).as(type.getSimpleName()).isEqualTo(expected.get(type));
        }
    }
}
