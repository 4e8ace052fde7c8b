package io.rehearsal.models.features;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a trainer holds the features its batches name.
 *
 * @param memoryBytes features kept in memory; beyond, the oldest go to the disk tier
 * @param directory   the disk tier's directory (wiped when opened); empty: one under {@code java.io.tmpdir}
 * @param maxWait     longest a batch waits for features not read yet; items still missing are left out
 */
public record FeatureCacheSettings(long memoryBytes, Optional<Path> directory, Duration maxWait) {
    public FeatureCacheSettings {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(maxWait, "maxWait");
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("the feature cache's memory must be >= 0 bytes, got " + memoryBytes);
        }
        if (maxWait.isNegative()) {
            throw new IllegalArgumentException("the longest wait for features must be >= 0, got " + maxWait);
        }
    }

    /** 256 MiB in memory (80,000 samples of 784 float32), disk under the temporary directory, 60 s wait. */
    public static FeatureCacheSettings defaults() {
        return new FeatureCacheSettings(256L << 20, Optional.empty(), Duration.ofSeconds(60));
    }

    /** The disk tier's directory for {@code modelId}'s trainer in this process. */
    public Path directoryFor(String modelId) {
        return directory.orElseGet(() -> Path.of(System.getProperty("java.io.tmpdir"),
                "rehearsal-features-" + modelId + "-" + ProcessHandle.current().pid()));
    }
}
