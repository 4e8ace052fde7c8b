package io.rehearsal.bench.chaos;

import io.rehearsal.bench.data.ClassIncrementalStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * One chaos run: the stream (the demo's: class-incremental Split Fashion-MNIST with flipped labels,
 * corrections and unlabeled requests), the pipeline settings, and the faults to inject. The clean
 * reference run is the same with no faults ({@link #clean()}).
 *
 * @param stream             the stream's settings (seeded)
 * @param trainerKills       SIGKILLs of the trainer
 * @param curatorKills       SIGKILLs of the curator
 * @param brokerRestarts     restarts of the broker (stop and start on the same data)
 * @param bufferSize         the curator's long-term buffer M
 * @param snapshotEverySteps the trainer publishes after this many steps...
 * @param snapshotEvery      ...or this long, whichever first
 * @param momentum           the trainer's SGD momentum (its buffers are in every snapshot, so a resumed run
 *                           is bit-identical to a clean one with or without momentum)
 * @param linger             the curator's partial-batch wait: longer than a curator restart, so that a kill
 *                           does not change how the stream is cut into batches (the stream's last partial
 *                           batch waits this long; none when the trainable samples fill whole batches)
 * @param chaosSeed          seed of where and how the faults strike
 * @param workDir            logs of every component incarnation, state directories, key and client files
 * @param timeout            the whole run must finish within this
 * @param trainerArgs        more options for every trainer incarnation, e.g. {@code --arch torchscript:FILE}
 */
public record ChaosSettings(ClassIncrementalStream.Settings stream, int trainerKills, int curatorKills, int brokerRestarts,
                            int bufferSize, int snapshotEverySteps, Duration snapshotEvery, float momentum, Duration linger, long chaosSeed,
                            Path workDir, Duration timeout, java.util.List<String> trainerArgs) {
    /** The curator's batch: B = 128 views, R = 4, a quarter fresh: 8 fresh samples per step. */
    static final int FRESH_PER_STEP = 8;

    public ChaosSettings {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(workDir, "workDir");
        trainerArgs = java.util.List.copyOf(trainerArgs);
        if (trainerKills < 0 || curatorKills < 0 || brokerRestarts < 0) {
            throw new IllegalArgumentException("fault counts must be >= 0");
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (snapshotEverySteps < 1 || snapshotEvery.isNegative() || snapshotEvery.isZero()) {
            throw new IllegalArgumentException("snapshots must be published every >= 1 step and a positive time");
        }
    }

    /** The demo's stream and settings with the given faults. */
    public static ChaosSettings demo(long seed, int maxTrainPerTask, int trainerKills, int curatorKills, int brokerRestarts,
                                     Path workDir) {
        ClassIncrementalStream.Settings stream = ClassIncrementalStream.Settings.splitFashionMnist(seed)
                .withMaxTrainPerTask(maxTrainPerTask).withNoise(0.1, 0.5, 1000).withRequests(0.02);
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, 500, 100, Duration.ofSeconds(2), 0.9f,
                Duration.ofSeconds(60), seed, workDir, Duration.ofMinutes(60), java.util.List.of());
    }

    /** The same run without faults, in its own directory: the reference. */
    public ChaosSettings clean() {
        return new ChaosSettings(stream, 0, 0, 0, bufferSize, snapshotEverySteps, snapshotEvery, momentum, linger, chaosSeed,
                workDir.resolveSibling(workDir.getFileName() + "-clean"), timeout, trainerArgs);
    }

    public ChaosSettings withLinger(Duration d) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, d, chaosSeed, workDir, timeout, trainerArgs);
    }

    public ChaosSettings withTimeout(Duration d) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, d, trainerArgs);
    }

    public ChaosSettings withMomentum(float m) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, m, linger, chaosSeed, workDir, timeout, trainerArgs);
    }

    /** The same run with more options for the trainer, e.g. {@code --arch torchscript:FILE} (a user's network). */
    public ChaosSettings withTrainerArgs(String... args) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, timeout, java.util.List.of(args));
    }

    public boolean faultless() {
        return trainerKills == 0 && curatorKills == 0 && brokerRestarts == 0;
    }
}
