package io.rehearsal.bench.chaos;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.chaos.ChaosPlan.Fault;
import io.rehearsal.bench.experiment.CatchUp;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;

/**
 * Carries out a {@link ChaosPlan} on a running pipeline, one fault at a time (a curator kill that comes
 * due while a trainer fault waits for its moment strikes at once), restarts every killed process at once
 * as a supervisor would, restarts (and counts) any process that exits on its own, and returns once the
 * plan is done and the pipeline has caught up and stayed so for the settle time.
 */
final class FaultController {
    /** The Prometheus counter of steps a trainer process took. */
    static final String STEPS_METRIC = "rehearsal_trainer_steps_total";

    /** What the controller acts on and watches. */
    record Pipeline(EmbeddedKafkaBroker broker, ComponentProcess curator, ComponentProcess trainer, Admin admin,
                    CatchUp catchUp, KafkaConsumer<byte[], byte[]> snapshots, KafkaConsumer<byte[], byte[]> chunks,
                    Topics topics, String modelId) {
    }

    /** One trainer kill as the controller saw it; {@code stepsTaken} -1 when the process never answered. */
    record Kill(Fault fault, int incarnation, long uptimeMillis, long stepsTaken) {
    }

    private final ChaosSettings settings;
    private final EmbeddedKafkaBroker broker;
    private final ComponentProcess curator;
    private final ComponentProcess trainer;
    private final Admin admin;
    private final CatchUp catchUp;
    private final KafkaConsumer<byte[], byte[]> snapshots;
    private final KafkaConsumer<byte[], byte[]> chunks;
    private final Topics topics;
    private final long expectedSteps;
    private final Map<String, List<TopicPartition>> groups;
    private final Duration settle;
    private final Random random;
    private final Consumer<String> log;
    private final List<ChaosPlan.Step> pending = new ArrayList<>();
    private final Map<Fault, Integer> done = new EnumMap<>(Fault.class);
    private final Map<String, Integer> unplanned = new TreeMap<>();
    private final List<Kill> kills = new ArrayList<>();
    /** The latest scrape of the trainer's steps: {incarnation, steps}. */
    private final AtomicReference<long[]> lastSteps = new AtomicReference<>(new long[] {0, -1});
    private double curatorProgress;
    private long nextCuratorCheck;
    private long stableSince = -1;
    private long nextCatchUpCheck;
    private int versionAtTrainerStart;
    private int latestVersion;
    private long latestStep;

    /**
     * @param expectedSteps the trainer's steps in the whole run (for the faults' marks)
     * @param settle        how long the pipeline must stay caught up before the run is over
     */
    FaultController(ChaosSettings settings, Pipeline p, long expectedSteps, Duration settle, Random random, Consumer<String> log) {
        this.settings = settings;
        this.broker = p.broker();
        this.curator = p.curator();
        this.trainer = p.trainer();
        this.admin = p.admin();
        this.catchUp = p.catchUp();
        this.snapshots = p.snapshots();
        this.chunks = p.chunks();
        this.topics = p.topics();
        this.expectedSteps = expectedSteps;
        this.groups = Map.of(topics.prefix() + "-curator", List.of(new TopicPartition(topics.samples().name(), 0),
                        new TopicPartition(topics.feedback().name(), 0)),
                "rehearsal-trainer-" + p.modelId(), List.of(new TopicPartition(topics.trainBatches().name(), 0)));
        this.settle = settle;
        this.random = random;
        this.log = log;
    }

    /** Faults carried out, by kind. */
    Map<Fault, Integer> done() {
        return Map.copyOf(done);
    }

    /** Exits nobody asked for, by component. */
    Map<String, Integer> unplannedExits() {
        return Map.copyOf(unplanned);
    }

    List<Kill> kills() {
        return List.copyOf(kills);
    }

    /** Carries out the plan; returns when it is done and the pipeline caught up. */
    void run(ChaosPlan plan) throws Exception {
        pending.addAll(plan.steps());
        ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "chaos-scraper");
            t.setDaemon(true);
            return t;
        });
        try {
            scraper.scheduleWithFixedDelay(() -> {
                int incarnation = trainer.incarnation();
                trainer.metric(STEPS_METRIC).ifPresent(v -> lastSteps.set(new long[] {incarnation, (long) v}));
            }, 200, 200, TimeUnit.MILLISECONDS);
            loop();
        } finally {
            scraper.shutdownNow();
        }
    }

    private void loop() throws Exception {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        while (true) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(String.format("the %s run did not finish within %s (%d faults left, "
                        + "latest step %d of ~%d); see the logs in %s", settings.faultless() ? "clean" : "chaos",
                        settings.timeout(), pending.size(), latestStep, expectedSteps, settings.workDir()));
            }
            pollSnapshots(Duration.ofMillis(50));
            supervise(curator);
            supervise(trainer);
            boolean idle = caughtUp();
            ChaosPlan.Step next = due(idle);
            if (next != null) {
                pending.remove(next);
                strike(next.fault(), idle);
                stableSince = -1;
            } else if (pending.isEmpty() && idle && stableSince >= 0
                    && System.nanoTime() - stableSince >= settle.toNanos()) {
                return;
            }
        }
    }

    /** The first fault whose mark is reached; when the pipeline is idle, the next one regardless. */
    private ChaosPlan.Step due(boolean idle) throws Exception {
        if (pending.isEmpty()) {
            return null;
        }
        double trainerProgress = (double) latestStep / expectedSteps;
        for (ChaosPlan.Step s : pending) {
            double progress = s.fault() == Fault.CURATOR_KILL ? curatorProgress() : trainerProgress;
            if (progress >= s.mark()) {
                return s;
            }
        }
        return idle && stableSince >= 0 && System.nanoTime() - stableSince >= settle.toNanos() ? pending.get(0) : null;
    }

    private void strike(Fault fault, boolean idle) throws Exception {
        switch (fault) {
            case CURATOR_KILL -> killCurator();
            case BROKER_RESTART -> {
                long t0 = System.nanoTime();
                broker.stop();
                sleepPolling(Duration.ofMillis(500 + random.nextInt(1500)));
                broker.start();
                say("broker restarted (down %.1f s)", (System.nanoTime() - t0) / 1e9);
            }
            case TRAINER_KILL -> {
                // at a random moment while it trains: once this incarnation has published
                awaitTrainerPublished(Duration.ofSeconds(60), idle);
                sleepPolling(Duration.ofMillis(random.nextInt(2000)));
                killTrainer(fault, true);
            }
            case TRAINER_KILL_IN_TRANSACTION -> {
                // as soon as a snapshot transaction is open: its first chunk is written, not yet committed
                chunks.seekToEnd(chunks.assignment());
                long mark = chunks.position(chunks.assignment().iterator().next());
                long deadline = System.nanoTime() + Duration.ofSeconds(idle ? 5 : 60).toNanos();
                boolean open = false;
                while (!open && System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : chunks.poll(Duration.ofMillis(5))) {
                        open |= r.offset() >= mark && r.value() != null;
                    }
                    if (!open) {
                        curatorKillIfDue();
                    }
                }
                killTrainer(fault, false);
            }
            case TRAINER_KILL_AT_START -> {
                // while the replacement of the last victim starts: JVM, libtorch, fencing, restore
                long at = 300 + random.nextInt(2500);
                sleepPolling(Duration.ofMillis(Math.max(0, at - trainer.uptime().toMillis())));
                killTrainer(fault, false);
            }
        }
        done.merge(fault, 1, Integer::sum);
    }

    private void killCurator() throws InterruptedException {
        long until = System.nanoTime() + random.nextInt(1000) * 1_000_000L;
        while (System.nanoTime() < until) {
            snapshots.poll(Duration.ofMillis(20));
        }
        curator.kill();
        say("curator killed (SIGKILL), incarnation %d after %.1f s, at %.0f%% of its input", curator.incarnation(),
                curator.uptime().toMillis() / 1e3, 100 * curatorProgress);
        curator.start();
    }

    /** While a trainer fault waits for its moment, a curator kill that comes due strikes at once. */
    private void curatorKillIfDue() throws Exception {
        for (ChaosPlan.Step s : pending) {
            if (s.fault() == Fault.CURATOR_KILL && curatorProgress() >= s.mark()) {
                pending.remove(s);
                killCurator();
                done.merge(Fault.CURATOR_KILL, 1, Integer::sum);
                return;
            }
        }
    }

    private void killTrainer(Fault fault, boolean scrapeFirst) throws InterruptedException {
        int incarnation = trainer.incarnation();
        long steps = scrapeFirst ? trainer.metric(STEPS_METRIC).stream().mapToLong(v -> (long) v).findFirst().orElse(-1) : -1;
        long[] last = lastSteps.get();
        if (steps < 0 && last[0] == incarnation) {
            steps = last[1]; // the latest scrape, at most 200 ms old: a lower bound
        }
        long uptime = trainer.uptime().toMillis();
        trainer.kill();
        kills.add(new Kill(fault, incarnation, uptime, steps));
        say("trainer killed (SIGKILL, %s), incarnation %d after %.1f s, %s steps taken; latest committed: v%d step %d",
                fault.name().toLowerCase(Locale.ROOT), incarnation, uptime / 1e3, steps < 0 ? "?" : steps,
                latestVersion, latestStep);
        trainer.start();
        versionAtTrainerStart = latestVersion;
    }

    private void awaitTrainerPublished(Duration timeout, boolean idle) throws Exception {
        long deadline = System.nanoTime() + (idle ? Duration.ofSeconds(5) : timeout).toNanos();
        while (latestVersion <= versionAtTrainerStart && System.nanoTime() < deadline) {
            pollSnapshots(Duration.ofMillis(100));
            curatorKillIfDue();
        }
    }

    private void supervise(ComponentProcess p) {
        Integer code = p.exitCode();
        if (code != null) {
            unplanned.merge(p.name(), 1, Integer::sum);
            say("%s incarnation %d EXITED on its own with code %d (see %s); restarting it", p.name(), p.incarnation(), code, p.log());
            p.start();
            if (p == trainer) {
                versionAtTrainerStart = latestVersion;
            }
        }
    }

    private void pollSnapshots(Duration timeout) {
        for (ConsumerRecord<byte[], byte[]> r : snapshots.poll(timeout)) {
            if (r.value() != null) {
                ModelSnapshot s = topics.modelUpdates().deserializeValue(r.value());
                latestStep = s.getStep();
                latestVersion = (int) s.getVersion();
            }
        }
    }

    private void sleepPolling(Duration d) throws Exception {
        long until = System.nanoTime() + d.toNanos();
        while (System.nanoTime() < until) {
            pollSnapshots(Duration.ofMillis(Math.max(1, Math.min(100, (until - System.nanoTime()) / 1_000_000))));
            curatorKillIfDue();
        }
    }

    /** Share of the samples topic the curator has committed. */
    private double curatorProgress() throws InterruptedException {
        if (System.nanoTime() < nextCuratorCheck) {
            return curatorProgress;
        }
        nextCuratorCheck = System.nanoTime() + 250_000_000L;
        TopicPartition tp = new TopicPartition(topics.samples().name(), 0);
        try {
            OffsetAndMetadata committed = admin.listConsumerGroupOffsets(topics.prefix() + "-curator")
                    .partitionsToOffsetAndMetadata().get(5, TimeUnit.SECONDS).get(tp);
            long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest()))
                    .partitionResult(tp).get(5, TimeUnit.SECONDS).offset();
            curatorProgress = committed == null || end == 0 ? 0 : (double) committed.offset() / end;
        } catch (ExecutionException | TimeoutException e) {
            // the broker is restarting: keep the last figure
        }
        return curatorProgress;
    }

    /** Whether both groups have consumed everything (checked once a second); tracks since when. */
    private boolean caughtUp() throws InterruptedException {
        if (System.nanoTime() < nextCatchUpCheck) {
            return stableSince >= 0;
        }
        nextCatchUpCheck = System.nanoTime() + 1_000_000_000L;
        boolean all;
        try {
            all = true;
            for (var e : groups.entrySet()) {
                all &= catchUp.caughtUp(e.getKey(), e.getValue());
            }
        } catch (ExecutionException | KafkaException e) {
            all = false; // the broker is restarting
        }
        if (!all) {
            stableSince = -1;
        } else if (stableSince < 0) {
            stableSince = System.nanoTime();
        }
        return all;
    }

    private void say(String format, Object... args) {
        log.accept(String.format(Locale.ROOT, format, args));
    }
}
