package io.rehearsal.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * The HMAC-SHA256 key that signs (trainer) or verifies (subscribers) snapshots: a file
 * ({@code --snapshot-key-file}, e.g. a mounted Secret) or the environment variable
 * {@code REHEARSAL_SNAPSHOT_KEY}. No key: snapshots are unsigned and only their SHA-256 is checked.
 */
public final class SnapshotKeyOptions {
    static final String ENV = "REHEARSAL_SNAPSHOT_KEY";

    @Option(names = "--snapshot-key-file", description = "File holding the snapshot signing key (else env " + ENV + ").")
    Path keyFile;

    public Optional<String> key() {
        if (keyFile != null) {
            try {
                String key = Files.readString(keyFile, StandardCharsets.UTF_8).strip();
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("the snapshot key file " + keyFile + " is empty");
                }
                return Optional.of(key);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the snapshot key file " + keyFile + ": " + e.getMessage(), e);
            }
        }
        return Optional.ofNullable(System.getenv(ENV)).map(String::strip).filter(k -> !k.isEmpty());
    }
}
