package io.rehearsal.schemas;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writes the golden files for a schema release: run once when a version is released, commit the output
 * under {@code src/test/resources/golden/}, and never regenerate an old version.
 * Usage: {@code GoldenFileWriter <dir> <version> [Record ...]} (default: every record), e.g.
 * {@code GoldenFileWriter schemas/src/test/resources/golden 2 ModelSnapshot}. It writes with the current
 * schema, so it refuses a record whose current schema is not the released {@code <Record>.v<version>.avsc}.
 */
final class GoldenFileWriter {
    private static final List<String> RECORDS = List.of("Sample", "Feedback", "TrainBatch", "ModelSnapshot",
            "SnapshotChunk", "Prediction", "DeadLetter", "SampleFeatures", "Promotion", "ModelCommand");

    private GoldenFileWriter() {
    }

    @SuppressWarnings("unchecked")
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int version = Integer.parseInt(args[1]);
        List<String> records = args.length > 2 ? Arrays.asList(args).subList(2, args.length) : RECORDS;
        Files.createDirectories(dir);
        for (String name : records) {
            SpecificRecord r = Fixtures.of(name, version);
            AvroSerde<SpecificRecord> serde = AvroSerde.of((Class<SpecificRecord>) r.getClass());
            Schema released = SchemaHistory.all().stream()
                    .filter(x -> x.file().equals(name + ".v" + version + ".avsc")).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException(name + ".v" + version + ".avsc is not released; "
                            + "release the schema first (see SchemaHistory)")).schema();
            if (SchemaNormalization.parsingFingerprint64(released) != serde.fingerprint()) {
                throw new IllegalArgumentException("the current " + name + " schema is not its released version " + version
                        + "; golden files of a version are written once, by the code that released it");
            }
            Files.write(dir.resolve(name + ".v" + version + ".bin"), serde.encode(r));
        }
    }
}
