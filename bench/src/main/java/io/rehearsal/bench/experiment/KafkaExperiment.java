package io.rehearsal.bench.experiment;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.ClassIncrementalStream.Event;
import io.rehearsal.bench.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.streams.CuratorApp;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs an experiment through real topics: the stream is produced to {@code samples} and
 * {@code feedback}, a {@link CuratorApp} and a {@link TrainerApp} run as in production, and the model is
 * read back from {@code model-updates} like any subscriber reads it. At each task boundary the
 * producer waits until the curator has committed every input and a snapshot covers every batch, then
 * the latest snapshot is evaluated on each task's held-out test images.
 */
public final class KafkaExperiment {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaExperiment.class);
    /** The curator's {@code max.task.idle.ms} in experiments: see {@link #run}. */
    static final Duration ORDERING_IDLE = Duration.ofSeconds(1);

    /** Where to run: a cluster, the topics, a state directory for the curator. */
    public record Target(Map<String, Object> clientProperties, Topics topics, Path stateDir) {
        String bootstrap() {
            return (String) clientProperties.get(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG);
        }
    }

    /** What the caller wants beyond the result: hooks at the end, while the model is still loaded. */
    public interface Finish {
        Finish NONE = evaluator -> {
        };

        void accept(java.util.function.Function<List<float[]>, int[]> finalModel);
    }

    private KafkaExperiment() {
    }

    public static ExperimentResult run(ClassIncrementalStream stream, ExperimentSpec spec, Target target, MeterRegistry registry,
                                       Progress progress, Finish finish) throws InterruptedException, ExecutionException {
        Topics topics = target.topics();
        RunRecorder recorder = new RunRecorder(stream, spec, progress);
        try (Admin admin = Admin.create(target.clientProperties())) {
            new TopicAdmin(admin).ensure(topics.all());
        }
        Map<String, Object> curatorProps = new HashMap<>(target.clientProperties());
        curatorProps.put(StreamsConfig.STATE_DIR_CONFIG, target.stateDir().toString());
        // read samples and feedback in timestamp order (the stream's order) even when the curator has caught up with
        // the producer: a partition with nothing fetched is waited for up to this long before the other is processed
        curatorProps.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, ORDERING_IDLE.toMillis());
        AtomicReference<Throwable> trainerFailure = new AtomicReference<>();
        try (CuratorApp curator = new CuratorApp(spec.curator().optInputPartitions(topics.samples().partitions()), topics,
                curatorProps, registry);
             TrainerApp trainer = new TrainerApp(spec.trainer(), topics, target.bootstrap(), target.clientProperties(), registry);
             // the evaluator's subscriber keeps its meters to itself: a service's subscriber (the demo's predictor) may
             // report the same model to the registry
             SnapshotEvaluator evaluator = new SnapshotEvaluator(spec.trainer().modelId(), topics, target.bootstrap(),
                     target.clientProperties(), new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
             Admin admin = Admin.create(target.clientProperties());
             KafkaProducer<byte[], byte[]> producer = producer(target.clientProperties());
             CatchUp catchUp = new CatchUp(admin, target.clientProperties())) {
            curator.startAndAwaitRunning(Duration.ofMinutes(2));
            Thread trainerThread = new Thread(() -> {
                try {
                    trainer.run();
                } catch (RuntimeException e) {
                    trainerFailure.set(e);
                    LOG.error("the trainer failed", e);
                }
            }, "trainer");
            trainerThread.start();

            Map<String, List<TopicPartition>> groups = Map.of(
                    topics.prefix() + "-curator", partitions(topics.samples().name(), topics.samples().partitions(),
                            topics.feedback().name(), topics.feedback().partitions()),
                    spec.trainer().groupId(), List.of(new TopicPartition(topics.trainBatches().name(), 0)));
            Duration settle = spec.curator().emission().linger().plusMillis(800);
            List<Event> events = stream.events();
            int[] sampleNumber = new int[events.size()];
            int[][] taskSamples = new int[stream.tests().size()][2]; // per task: first sample number, one past its last
            int samples = numberSamples(events, recorder, sampleNumber, taskSamples);
            Produced produced = new Produced(samples);
            LiveFigures live = new LiveFigures();
            int[] task = {-1};
            Runnable watch = () -> {
                check(trainerFailure);
                if (evaluator.refresh()) {
                    double[] acc = recorder.curvePoint(evaluator.step(), evaluator::predict);
                    evaluator.info().ifPresent(info -> {
                        int t = Math.max(0, task[0]);
                        Produced.Coverage c = produced.coverage(info.provenance().getSampleOffsets(), taskSamples[t][0],
                                taskSamples[t][1]);
                        progress.served(new Served(info.version(), info.step(), acc, t, taskSamples[t][1] - taskSamples[t][0],
                                c.inRange(), live.rate(info.loadedTime().toEpochMilli(), c.total()),
                                c.newestSent() < 0 ? null : Duration.ofMillis(info.loadedTime().toEpochMilli() - c.newestSent())));
                    });
                }
            };

            long[] lastStamp = {0};
            for (int i = 0; i < events.size(); i++) {
                Event e = events.get(i);
                int t = recorder.taskOf(e);
                if (t != task[0]) {
                    if (task[0] >= 0) {
                        catchUp(producer, catchUp, groups, settle, watch, trainer, evaluator);
                        recorder.taskEnded(task[0], evaluator::predict);
                        recorder.boundary(evaluator.step(), t);
                    }
                    task[0] = t;
                    progress.taskStarted(t, taskSamples[t][1] - taskSamples[t][0]);
                }
                long now = System.currentTimeMillis();
                lastStamp[0] = Math.max(now, lastStamp[0] + 1);
                if (e instanceof SampleEvent) {
                    int n = sampleNumber[i];
                    produced.sent(n, now);
                    producer.send(stamped(topics, e, lastStamp[0]), (md, failure) -> {
                        if (failure == null) {
                            produced.acknowledged(n, md.partition(), md.offset());
                        }
                    });
                } else {
                    producer.send(stamped(topics, e, lastStamp[0]));
                }
                progress.event(t);
                if (i % 2000 == 0) {
                    watch.run();
                }
            }
            int currentTask = task[0];
            catchUp(producer, catchUp, groups, settle, watch, trainer, evaluator);
            recorder.taskEnded(currentTask, evaluator::predict);
            finish.accept(evaluator::predict);
            trainer.stop();
            trainerThread.join(60_000);
            check(trainerFailure);

            double correct = count(registry, "correct");
            double wrong = count(registry, "wrong");
            return recorder.result(correct + wrong == 0 ? Double.NaN : correct / (correct + wrong),
                    trainer.trainer().evals().accuracy(), trainer.trainer().step(), trainer.trainer().samplesSeen(),
                    (long) registry.find("rehearsal.curator.dead.letters").counters().stream().mapToDouble(Counter::count).sum());
        }
    }

    /**
     * Numbers the sample events in production order ({@code sampleNumber[i]} for event i) and notes each task's
     * range of sample numbers; returns how many samples there are.
     */
    private static int numberSamples(List<Event> events, RunRecorder recorder, int[] sampleNumber, int[][] taskSamples) {
        int n = 0;
        int task = -1;
        for (int i = 0; i < events.size(); i++) {
            int t = recorder.taskOf(events.get(i));
            if (t != task) {
                if (task >= 0) {
                    taskSamples[task][1] = n;
                }
                task = t;
                taskSamples[t][0] = n;
            }
            if (events.get(i) instanceof SampleEvent) {
                sampleNumber[i] = n++;
            }
        }
        if (task >= 0) {
            taskSamples[task][1] = n;
        }
        return n;
    }

    /** Samples learned per second over the last few seconds of served snapshots. */
    private static final class LiveFigures {
        private final java.util.ArrayDeque<long[]> points = new java.util.ArrayDeque<>();

        double rate(long millis, long learned) {
            points.addLast(new long[] {millis, learned});
            while (points.size() > 2 && millis - points.peekFirst()[0] > 10_000) {
                points.removeFirst();
            }
            long[] first = points.peekFirst();
            return millis <= first[0] ? Double.NaN : 1000.0 * (learned - first[1]) / (millis - first[0]);
        }
    }

    /** Flushes the producer and waits until a snapshot covers everything produced and the subscriber serves it. */
    private static void catchUp(KafkaProducer<byte[], byte[]> producer, CatchUp catchUp, Map<String, List<TopicPartition>> groups,
                                Duration settle, Runnable watch, TrainerApp trainer, SnapshotEvaluator evaluator)
            throws ExecutionException, InterruptedException {
        producer.flush();
        catchUp.await(groups, settle, Duration.ofMinutes(20), watch);
        evaluator.awaitVersion(trainer.version());
    }

    /**
     * The record of one event. Its timestamp is the event time moved by {@code shiftMillis} so that the
     * stream's first event is stamped "now": the stream keeps its order and spacing (the curator's stream
     * time follows it), but its records are not older than the input topics' time retention. Stamped with
     * the synthetic event times themselves (January 2026), a broker's next retention pass (every 5 minutes)
     * deleted every record the curator had not read yet.
     */
    public static ProducerRecord<byte[], byte[]> record(Topics topics, Event e, long shiftMillis) {
        if (e instanceof SampleEvent s) {
            return new ProducerRecord<>(topics.samples().name(), null, s.sample().getEventTime().toEpochMilli() + shiftMillis,
                    topics.samples().serializeKey(s.key()), topics.samples().serializeValue(s.sample()));
        }
        FeedbackEvent f = (FeedbackEvent) e;
        return new ProducerRecord<>(topics.feedback().name(), null, f.feedback().getEventTime().toEpochMilli() + shiftMillis,
                topics.feedback().serializeKey(f.key()), topics.feedback().serializeValue(f.feedback()));
    }

    /**
     * The record of one event stamped as a live producer stamps it, when it is sent: {@code millis} is the record's
     * timestamp and the event time in its value. Each event gets a millisecond of its own after the one before
     * (the caller keeps them strictly increasing), so that the curator, reading samples and feedback in timestamp
     * order, reads them in the stream's order, as the in-process run does; and a snapshot's age against the event time
     * of its newest sample (its freshness, in {@code rehearsal report}) is the real one. The curator's rules that
     * read record time (short-term age, feedback expiry: an hour and more) do not come into play within a run.
     */
    public static ProducerRecord<byte[], byte[]> stamped(Topics topics, Event e, long millis) {
        java.time.Instant at = java.time.Instant.ofEpochMilli(millis);
        if (e instanceof SampleEvent s) {
            return new ProducerRecord<>(topics.samples().name(), null, millis, topics.samples().serializeKey(s.key()),
                    topics.samples().serializeValue(io.rehearsal.schemas.avro.Sample.newBuilder(s.sample()).setEventTime(at).build()));
        }
        FeedbackEvent f = (FeedbackEvent) e;
        return new ProducerRecord<>(topics.feedback().name(), null, millis, topics.feedback().serializeKey(f.key()),
                topics.feedback().serializeValue(io.rehearsal.schemas.avro.Feedback.newBuilder(f.feedback()).setEventTime(at).build()));
    }

    /** The shift that stamps the stream's first event with the current time (see {@link #record}). */
    public static long shiftToNow(List<Event> events) {
        return events.isEmpty() ? 0 : System.currentTimeMillis() - eventTime(events.get(0));
    }

    private static long eventTime(Event e) {
        return e instanceof SampleEvent s ? s.sample().getEventTime().toEpochMilli()
                : ((FeedbackEvent) e).feedback().getEventTime().toEpochMilli();
    }

    private static KafkaProducer<byte[], byte[]> producer(Map<String, Object> clientProperties) {
        Map<String, Object> p = new HashMap<>(clientProperties);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static List<TopicPartition> partitions(String a, int na, String b, int nb) {
        List<TopicPartition> out = new ArrayList<>();
        for (int p = 0; p < na; p++) {
            out.add(new TopicPartition(a, p));
        }
        for (int p = 0; p < nb; p++) {
            out.add(new TopicPartition(b, p));
        }
        return out;
    }

    private static double count(MeterRegistry registry, String outcome) {
        Counter c = registry.find("rehearsal.trainer.prequential.predictions").tag("outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    private static void check(AtomicReference<Throwable> failure) {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("the trainer failed: " + t.getMessage(), t);
        }
    }
}
