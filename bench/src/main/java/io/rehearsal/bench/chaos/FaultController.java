package io.rehearsal.bench.chaos;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.broker.EmbeddedKafkaCluster;
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
 * plan is done and the pipeline has settled: caught up and stayed so for the settle time, and the curator
 * done with its input for longer than its linger (the stream's last partial batch and the replay batches of
 * corrections still waiting come a linger after the curator's last input, however far behind the trainer is).
 */
final class FaultController {
    /** The Prometheus counter of steps a trainer process took. */
    static final String STEPS_METRIC = "rehearsal_trainer_steps_total";

    /** What the controller acts on and watches. */
    record Pipeline(EmbeddedKafkaCluster cluster, ComponentProcess curator, List<ComponentProcess> spareCurators,
                    List<ComponentProcess> trainers, Admin admin, CatchUp catchUp, KafkaConsumer<byte[], byte[]> snapshots,
                    KafkaConsumer<byte[], byte[]> chunks, KafkaConsumer<byte[], byte[]> batches, Topics topics, String modelId) {
    }

    /** One trainer kill as the controller saw it; {@code stepsTaken} -1 when the process never answered. */
    record Kill(Fault fault, String name, int incarnation, long uptimeMillis, long stepsTaken, String standby,
                int standbyIncarnation) {
    }


    /** The line an active trainer's log carries once it holds the model's lease. */
    static final String LEASE_ACQUIRED = "trainer lease acquired";

    private final ChaosSettings settings;
    private final EmbeddedKafkaCluster cluster;
    private final ComponentProcess curator;
    private final List<ComponentProcess> spareCurators;
    private final List<ComponentProcess> trainers;
    private final KafkaConsumer<byte[], byte[]> batches;
    private final String transactionalId;
    private final Admin admin;
    private final CatchUp catchUp;
    private final KafkaConsumer<byte[], byte[]> snapshots;
    private final KafkaConsumer<byte[], byte[]> chunks;
    private final Topics topics;
    private final long expectedSteps;
    private final Map<String, List<TopicPartition>> groups;
    private final String curatorGroup;
    private final Duration settle;
    private final Duration curatorSettle;
    private final Random random;
    private final Consumer<String> log;
    private final List<ChaosPlan.Step> pending = new ArrayList<>();
    private final Map<Fault, Integer> done = new EnumMap<>(Fault.class);
    private final Map<String, Integer> unplanned = new TreeMap<>();
    private final List<Kill> kills = new ArrayList<>();
    private final List<ChaosResult.BrokerRestart> brokerRestarts = new ArrayList<>();
    private final ScalePauses scalePauses = new ScalePauses();
    /** Kill-to-first-new-snapshot times of standby takeovers, in ms. */
    private final List<Long> failovers = new ArrayList<>();
    /** The latest scrape of the active trainer's steps: {trainer index, incarnation, steps}. */
    private final AtomicReference<long[]> lastSteps = new AtomicReference<>(new long[] {-1, 0, -1});
    private long failoverKillNanos = -1;
    private long failoverKillWallMillis;
    private int failoverFromVersion;
    private long scaledOutAt = -1;
    private boolean spareRunning;
    private long nextSpareCheck;
    private volatile ComponentProcess activeTrainer;
    private long nextActiveCheck;
    private double curatorProgress;
    private long nextCuratorCheck;
    private long stableSince = -1;
    /** Since when the curator has consumed all its input (nanoTime), -1 while it has not or after a fault. */
    private long curatorDoneSince = -1;
    private boolean curatorDoneSaid;
    private long nextCatchUpCheck;
    private int versionAtTrainerStart;
    private int latestVersion;
    private long latestStep;

    /**
     * @param expectedSteps the trainer's steps in the whole run (for the faults' marks)
     * @param settle        how long the pipeline must stay caught up before the run is over
     * @param curatorSettle how long the curator must have been done with its input before the run is over
     */
    FaultController(ChaosSettings settings, Pipeline p, long expectedSteps, Duration settle, Duration curatorSettle, Random random,
                    Consumer<String> log) {
        this.settings = settings;
        this.cluster = p.cluster();
        this.curator = p.curator();
        this.spareCurators = p.spareCurators();
        this.trainers = p.trainers();
        this.batches = p.batches();
        this.transactionalId = "rehearsal-trainer-" + p.modelId();
        this.admin = p.admin();
        this.catchUp = p.catchUp();
        this.snapshots = p.snapshots();
        this.chunks = p.chunks();
        this.topics = p.topics();
        this.expectedSteps = expectedSteps;
        this.curatorGroup = topics.prefix() + "-curator";
        this.groups = Map.of(curatorGroup, List.of(new TopicPartition(topics.samples().name(), 0),
                        new TopicPartition(topics.feedback().name(), 0)),
                "rehearsal-trainer-" + p.modelId(), List.of(new TopicPartition(topics.trainBatches().name(), 0)));
        this.settle = settle;
        this.curatorSettle = curatorSettle;
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

    List<ChaosResult.BrokerRestart> brokerRestarts() {
        return List.copyOf(brokerRestarts);
    }

    List<ChaosResult.CuratorScale> curatorScales() {
        return scalePauses.scales();
    }

    List<Long> failoverMillis() {
        return List.copyOf(failovers);
    }

    /**
     * The trainer that trains: the only one, or (with a standby) the live one whose log says it holds the
     * lease; null while none does (between a kill and the takeover).
     */
    private ComponentProcess trainer() {
        if (trainers.size() == 1) {
            return trainers.get(0);
        }
        if (System.nanoTime() < nextActiveCheck && activeTrainer != null && activeTrainer.alive()) {
            return activeTrainer;
        }
        nextActiveCheck = System.nanoTime() + 100_000_000L;
        activeTrainer = null;
        for (ComponentProcess t : trainers) {
            if (t.alive() && t.logContains(LEASE_ACQUIRED)) {
                activeTrainer = t;
            }
        }
        return activeTrainer;
    }

    /** Waits (polling) until some trainer holds the lease. */
    private ComponentProcess awaitActiveTrainer() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        ComponentProcess t;
        while ((t = trainer()) == null) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no trainer took the lease within 120 s");
            }
            pollSnapshots(Duration.ofMillis(50));
            trainers.forEach(this::supervise);
        }
        return t;
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
                ComponentProcess t = activeTrainer();
                if (t != null) {
                    int incarnation = t.incarnation();
                    t.metric(STEPS_METRIC).ifPresent(v -> lastSteps.set(new long[] {trainers.indexOf(t), incarnation, (long) v}));
                }
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
            trainers.forEach(this::supervise);
            boolean idle = caughtUp();
            ChaosPlan.Step next = due(idle);
            if (next != null) {
                pending.remove(next);
                strike(next.fault(), idle);
                stableSince = -1;
                if (!next.fault().trainer()) {
                    // a curator's new thread or process starts its linger timers again (a trainer fault leaves them)
                    curatorDoneSince = -1;
                }
            } else if (pending.isEmpty() && idle && settled()) {
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
        boolean scaleInWaits = false;
        for (ChaosPlan.Step s : pending) {
            if (s.fault() == Fault.CURATOR_SCALE_IN && !scaledOutRunning()) {
                scaleInWaits = true;
                continue; // not before the instances it removes have joined
            }
            if (s.fault() == Fault.CURATOR_SCALE_OUT && scaleInWaits) {
                continue; // scale events in their order: no second scale-out before the scale-in between them
            }
            double progress = s.fault().curator() ? curatorProgress() : trainerProgress;
            if (progress >= s.mark()) {
                return s;
            }
        }
        return idle && settled() ? pending.get(0) : null;
    }

    /**
     * Whether nothing more will come: the pipeline caught up for the settle time, and the curator done with its
     * input for longer than its linger (its last partial and replay batches are out).
     */
    private boolean settled() {
        long now = System.nanoTime();
        return stableSince >= 0 && now - stableSince >= settle.toNanos()
                && curatorDoneSince >= 0 && now - curatorDoneSince >= curatorSettle.toNanos();
    }

    private void strike(Fault fault, boolean idle) throws Exception {
        switch (fault) {
            case CURATOR_KILL -> killCurator();
            case BROKER_RESTART -> restartBroker(idle);
            case CURATOR_SCALE_OUT -> {
                spareCurators.forEach(ComponentProcess::start);
                scaled(fault);
                scaledOutAt = System.nanoTime();
                spareRunning = false;
                say("curator scaling out: %d instances", 1 + spareCurators.size());
            }
            case CURATOR_SCALE_IN -> {
                for (ComponentProcess c : spareCurators) {
                    if (c.alive()) {
                        say("%s: %s", c.name(), curatorRecoveries(c));
                        c.stop(Duration.ofSeconds(60));
                    }
                }
                scaled(fault);
                say("curator scaled in: 1 instance (the two others had run %.1f s)", (System.nanoTime() - scaledOutAt) / 1e9);
            }
            case TRAINER_KILL -> {
                // at a random moment while it trains: once this incarnation has published
                awaitTrainerPublished(Duration.ofSeconds(60), idle);
                sleepPolling(Duration.ofMillis(random.nextInt(2000)));
                killTrainer(fault, true);
            }
            case TRAINER_KILL_IN_TRANSACTION -> {
                // as soon as a snapshot transaction is open: its first chunk is written, not yet committed
                awaitOpenTransaction(idle);
                killTrainer(fault, false);
            }
            case TRAINER_KILL_AT_START -> {
                // while the replacement of the last victim starts: JVM, libtorch, fencing, restore
                long at = 300 + random.nextInt(2500);
                ComponentProcess t = trainers.size() == 1 ? trainer() : awaitActiveTrainer();
                sleepPolling(Duration.ofMillis(Math.max(0, at - t.uptime().toMillis())));
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
        curatorDoneSince = -1;
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

    private void killTrainer(Fault fault, boolean scrapeFirst) throws Exception {
        ComponentProcess trainer = trainers.size() == 1 ? trainer() : awaitActiveTrainer();
        int incarnation = trainer.incarnation();
        long steps = scrapeFirst ? trainer.metric(STEPS_METRIC).stream().mapToLong(v -> (long) v).findFirst().orElse(-1) : -1;
        long[] last = lastSteps.get();
        if (steps < 0 && last[0] == trainers.indexOf(trainer) && last[1] == incarnation) {
            steps = last[2]; // the latest scrape, at most 200 ms old: a lower bound
        }
        long uptime = trainer.uptime().toMillis();
        trainer.kill();
        long killedAt = System.nanoTime();
        ComponentProcess standby = trainers.stream().filter(t -> t != trainer).findFirst().orElse(null);
        kills.add(new Kill(fault, trainer.name(), incarnation, uptime, steps, standby == null ? null : standby.name(),
                standby == null ? 0 : standby.incarnation()));
        say("%s killed (SIGKILL, %s), incarnation %d after %.1f s, %s steps taken; latest committed: v%d step %d",
                trainer.name(), fault.name().toLowerCase(Locale.ROOT), incarnation, uptime / 1e3, steps < 0 ? "?" : steps,
                latestVersion, latestStep);
        trainer.start();
        activeTrainer = null;
        versionAtTrainerStart = latestVersion;
        if (trainers.size() > 1 && failoverKillNanos < 0) {
            // the standby takes over: measured to the first snapshot a successor commits
            failoverKillNanos = killedAt;
            failoverKillWallMillis = System.currentTimeMillis();
            failoverFromVersion = latestVersion;
        }
    }

    /** What a curator process rode out without exiting: stream threads replaced, writes retried (from its metrics). */
    static String curatorRecoveries(ComponentProcess curator) {
        return String.format(Locale.ROOT, "%.0f stream threads replaced after transient broker faults, %.0f writes retried",
                curator.metric("rehearsal_curator_thread_replacements_total").orElse(Double.NaN),
                curator.metric("rehearsal_curator_writes_retried_total").orElse(0));
    }

    /** The active trainer as last seen (for the scraper thread). */
    private ComponentProcess activeTrainer() {
        ComponentProcess t = activeTrainer;
        return t != null ? t : trainers.size() == 1 ? trainers.get(0) : null;
    }

    /**
     * Stops one broker and starts it again. On a single broker, the broker. On a cluster, in turn: the
     * leader of the train-batches partition, the leader of the model-updates partition, and the trainer's
     * transaction coordinator as soon as a snapshot transaction is open.
     */
    private void restartBroker(boolean idle) throws Exception {
        EmbeddedKafkaBroker broker;
        String role;
        if (cluster.size() == 1) {
            broker = cluster.broker(1);
            role = "the only broker";
        } else {
            int turn = brokerRestarts.size() % 3;
            if (turn == 2) {
                awaitOpenTransaction(idle);
                int node = admin.describeTransactions(List.of(transactionalId)).description(transactionalId)
                        .get(10, TimeUnit.SECONDS).coordinatorId();
                broker = cluster.broker(node);
                role = "transaction coordinator of " + transactionalId + " (transaction open)";
            } else {
                String topic = turn == 0 ? topics.trainBatches().name() : topics.modelUpdates().name();
                int node = admin.describeTopics(List.of(topic)).allTopicNames().get(10, TimeUnit.SECONDS).get(topic)
                        .partitions().get(0).leader().id();
                broker = cluster.broker(node);
                role = "leader of " + topic + "-0";
            }
        }
        long t0 = System.nanoTime();
        broker.stop();
        sleepPolling(Duration.ofMillis(500 + random.nextInt(1500)));
        broker.start();
        double down = (System.nanoTime() - t0) / 1e9;
        brokerRestarts.add(new ChaosResult.BrokerRestart(broker.nodeId(), role, down));
        say("broker %d restarted (%s; down %.1f s)", broker.nodeId(), role, down);
    }

    /** Waits until a snapshot transaction is open: its first chunk is on the topic, not yet committed. */
    private boolean awaitOpenTransaction(boolean idle) throws Exception {
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
        return open;
    }

    /**
     * Whether the instances of the last scale-out are RUNNING in the group (their /ready, checked once a
     * second), or have had 90 s to get there.
     */
    private boolean scaledOutRunning() {
        if (scaledOutAt < 0) {
            return false;
        }
        if (!spareRunning && System.nanoTime() >= nextSpareCheck) {
            nextSpareCheck = System.nanoTime() + 1_000_000_000L;
            spareRunning = spareCurators.stream().allMatch(ComponentProcess::ready);
            if (spareRunning) {
                say("curator scaled out: all %d instances running, %.1f s after the scale-out", 1 + spareCurators.size(),
                        (System.nanoTime() - scaledOutAt) / 1e9);
            }
        }
        return spareRunning || System.nanoTime() - scaledOutAt > Duration.ofSeconds(90).toNanos();
    }

    private void scaled(Fault fault) throws InterruptedException {
        scalePauses.scaled(fault, curatorProgress(), System.nanoTime());
    }

    /** Reads the committed batches' arrivals and closes the measurement of scale events 60 s old. */
    private void pollBatches() {
        if (batches == null) {
            return;
        }
        for (ConsumerRecord<byte[], byte[]> r : batches.poll(Duration.ZERO)) {
            scalePauses.batch(System.nanoTime());
        }
        scalePauses.closeBefore(System.nanoTime());
    }

    /** Closes the scale measurements still open (at the end of the run). */
    void finishMeasurements() {
        pollBatches();
        scalePauses.closeAll();
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
            curatorDoneSince = trainers.contains(p) ? curatorDoneSince : -1; // a new curator's timers start again
            say("%s incarnation %d EXITED on its own with code %d (see %s); restarting it; its log ends:%n%s", p.name(),
                    p.incarnation(), code, p.log(), p.logTail(30).lines().filter(l -> !l.contains("AutoNonVariableTypeMode"))
                            .map(l -> "      | " + l).collect(java.util.stream.Collectors.joining("\n")));
            p.start();
            if (trainers.contains(p)) {
                versionAtTrainerStart = latestVersion;
            }
        }
    }

    private void pollSnapshots(Duration timeout) {
        pollBatches();
        for (ConsumerRecord<byte[], byte[]> r : snapshots.poll(timeout)) {
            if (r.value() != null) {
                ModelSnapshot s = topics.modelUpdates().deserializeValue(r.value());
                latestStep = s.getStep();
                latestVersion = (int) s.getVersion();
                // a successor's snapshot: made after the kill (the victim's last one may be read only after it)
                if (failoverKillNanos >= 0 && latestVersion > failoverFromVersion
                        && s.getCreatedTime().toEpochMilli() > failoverKillWallMillis) {
                    failovers.add((System.nanoTime() - failoverKillNanos) / 1_000_000);
                    say("first snapshot after the takeover: v%d, %.1f s after the kill", latestVersion,
                            failovers.get(failovers.size() - 1) / 1e3);
                    failoverKillNanos = -1;
                }
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

    /**
     * Whether both groups have consumed everything (checked once a second); tracks since when, and since when the
     * curator alone has.
     */
    private boolean caughtUp() throws InterruptedException {
        if (System.nanoTime() < nextCatchUpCheck) {
            return stableSince >= 0;
        }
        nextCatchUpCheck = System.nanoTime() + 1_000_000_000L;
        boolean all;
        try {
            all = true;
            for (var e : groups.entrySet()) {
                boolean done = catchUp.caughtUp(e.getKey(), e.getValue());
                if (e.getKey().equals(curatorGroup)) {
                    if (!done) {
                        curatorDoneSince = -1;
                    } else if (curatorDoneSince < 0) {
                        curatorDoneSince = System.nanoTime();
                        if (!curatorDoneSaid) {
                            curatorDoneSaid = true;
                            say("the curator has consumed all its input; latest committed: v%d step %d", latestVersion, latestStep);
                        }
                    }
                }
                all &= done;
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
