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
 * @param topology           how many brokers, curator instances and trainers the pipeline runs
 * @param trainerArgs        more options for every trainer incarnation, e.g. {@code --arch torchscript:FILE}
 */
public record ChaosSettings(ClassIncrementalStream.Settings stream, int trainerKills, int curatorKills, int brokerRestarts,
                            int bufferSize, int snapshotEverySteps, Duration snapshotEvery, float momentum, Duration linger, long chaosSeed,
                            Path workDir, Duration timeout, Topology topology,
                            java.util.List<String> trainerArgs) {
    /**
     * The pipeline's shape.
     *
     * @param brokers         brokers of the in-process cluster (3: replication 3, min.insync.replicas 2); with
     *                        more than one, each broker restart stops one broker, in turn the leader of the
     *                        train-batches partition, the leader of the model-updates partition and the trainer's
     *                        transaction coordinator while a snapshot transaction is open
     * @param standbyTrainer  a second trainer process with {@code --standby}: every trainer kill strikes the
     *                        active one, the standby takes over, the victim restarts as the new standby
     * @param curatorScaleOuts times the curator goes from one instance to three and back to one mid-stream
     */
    public record Topology(int brokers, boolean standbyTrainer, int curatorScaleOuts) {
        public static final Topology SINGLE = new Topology(1, false, 0);

        public Topology {
            if (brokers < 1 || curatorScaleOuts < 0) {
                throw new IllegalArgumentException("a topology needs >= 1 broker and >= 0 scale-outs");
            }
        }
    }

    /** The curator's batch: B = 128 views, R = 4, a quarter fresh: 8 fresh samples per step. */
    static final int FRESH_PER_STEP = 8;

    public ChaosSettings {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(topology, "topology");
        trainerArgs = java.util.List.copyOf(trainerArgs);
        Objects.requireNonNull(workDir, "workDir");
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
                Duration.ofSeconds(60), seed, workDir, Duration.ofMinutes(60), Topology.SINGLE,
                java.util.List.of());
    }

    /** The same run without faults (on as many brokers, one curator, one trainer), in its own directory: the reference. */
    public ChaosSettings clean() {
        return new ChaosSettings(stream, 0, 0, 0, bufferSize, snapshotEverySteps, snapshotEvery, momentum, linger, chaosSeed,
                workDir.resolveSibling(workDir.getFileName() + "-clean"), timeout, new Topology(topology.brokers(), false, 0),
                trainerArgs);
    }

    public ChaosSettings withTopology(Topology t) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, timeout, t, trainerArgs);
    }

    public ChaosSettings withLinger(Duration d) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, d, chaosSeed, workDir, timeout, topology, trainerArgs);
    }

    public ChaosSettings withTimeout(Duration d) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, d, topology, trainerArgs);
    }

    public ChaosSettings withMomentum(float m) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, m, linger, chaosSeed, workDir, timeout, topology, trainerArgs);
    }

    /** The same run with the trainer publishing after this many steps (or {@link #snapshotEvery}, whichever first). */
    public ChaosSettings withSnapshotEverySteps(int steps) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, steps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, timeout, topology, trainerArgs);
    }

    /** The same run with more options for the trainer, e.g. {@code --arch torchscript:FILE} (a user's network). */
    public ChaosSettings withTrainerArgs(String... args) {
        return new ChaosSettings(stream, trainerKills, curatorKills, brokerRestarts, bufferSize, snapshotEverySteps,
                snapshotEvery, momentum, linger, chaosSeed, workDir, timeout, topology, java.util.List.of(args));
    }

    public boolean faultless() {
        return trainerKills == 0 && curatorKills == 0 && brokerRestarts == 0 && topology.curatorScaleOuts() == 0;
    }
}
