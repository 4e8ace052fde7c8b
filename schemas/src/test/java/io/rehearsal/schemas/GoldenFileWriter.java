package io.rehearsal.schemas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writes the golden files for a schema release: run once when a version is released, commit the output
 * under {@code src/test/resources/golden/}, and never regenerate an old version.
 * Usage: {@code GoldenFileWriter <dir> <version>}.
 */
final class GoldenFileWriter {
    private GoldenFileWriter() {
    }

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Files.createDirectories(dir);
        List<SpecificRecord> records = List.of(Fixtures.sample(), Fixtures.feedback(), Fixtures.trainBatch(),
                Fixtures.modelSnapshot(), Fixtures.snapshotChunk(), Fixtures.prediction(), Fixtures.deadLetter());
        for (SpecificRecord r : records) {
            AvroSerde<SpecificRecord> serde = AvroSerde.of((Class<SpecificRecord>) r.getClass());
            Files.write(dir.resolve(r.getClass().getSimpleName() + ".v" + args[1] + ".bin"), serde.encode(r));
        }
    }
}
