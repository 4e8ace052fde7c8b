package io.rehearsal.bench.data;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;

/**
 * Class-incremental Split Fashion-MNIST as an ordered stream of samples and feedback, the same for the
 * demo, the benchmark in-process and the benchmark through Kafka (seeded: same settings, same stream).
 *
 * <p>Tasks arrive one after another, each with its classes' training images in random order; a share of
 * each task's test images is streamed as EVAL samples at the start of the task (held out, never
 * trained on); the rest of the test images are kept aside for the final accuracy matrix. People are
 * simulated: a share of training labels is flipped to the other class of the task, and LABEL feedback
 * corrects part of them a given number of samples later; a share of training images arrives unlabeled
 * (a prediction request) and is labeled by feedback later.
 */
public final class ClassIncrementalStream {

    /** How to cut and perturb the stream. */
    public record Settings(int tasks, int classesPerTask, int maxTrainPerTask, double evalShare, double labelNoise,
                           double correctedShare, int feedbackDelay, double requestShare, String modelId, long seed,
                           boolean joint, int validationPerTask, FeedbackKind correctionKind) {
        public Settings {
            if (tasks < 1 || classesPerTask < 1 || tasks * classesPerTask > FashionMnist.CLASS_NAMES.size()) {
                throw new IllegalArgumentException(tasks + " tasks of " + classesPerTask + " classes do not fit 10 classes");
            }
            for (double share : new double[] {evalShare, labelNoise, correctedShare, requestShare}) {
                if (share < 0 || share > 1) {
                    throw new IllegalArgumentException("shares must be in [0, 1], got " + share);
                }
            }
            if (feedbackDelay < 0 || maxTrainPerTask < 0 || validationPerTask < 0) {
                throw new IllegalArgumentException("feedbackDelay, maxTrainPerTask and validationPerTask must be >= 0");
            }
            if (joint && (labelNoise > 0 || requestShare > 0)) {
                throw new IllegalArgumentException("the joint (all classes shuffled) stream has clean labels only");
            }
            if (correctionKind != FeedbackKind.LABEL && correctionKind != FeedbackKind.REJECT) {
                throw new IllegalArgumentException("flipped labels are corrected by LABEL or REJECT feedback, not " + correctionKind);
            }
        }

        /** 5 tasks of 2 classes, 10% of test images as EVAL, clean labels, no requests. */
        public static Settings splitFashionMnist(long seed) {
            return new Settings(5, 2, 0, 0.1, 0.0, 0.0, 500, 0.0, "fashion", seed, false, 0, FeedbackKind.LABEL);
        }

        public Settings withNoise(double labelNoise, double correctedShare, int feedbackDelay) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, seed, joint, validationPerTask, correctionKind);
        }

        /**
         * Flipped labels that are corrected get this kind of feedback: LABEL (the true label; the default) or REJECT
         * (the sample is dropped). Unlabeled requests are always labeled by LABEL feedback.
         */
        public Settings withCorrectionKind(FeedbackKind kind) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, seed, joint, validationPerTask, kind);
        }

        public Settings withRequests(double share) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    share, modelId, seed, joint, validationPerTask, correctionKind);
        }

        public Settings withMaxTrainPerTask(int max) {
            return new Settings(tasks, classesPerTask, max, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, seed, joint, validationPerTask, correctionKind);
        }

        public Settings withModelId(String id) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, id, seed, joint, validationPerTask, correctionKind);
        }

        /** The joint-training upper bound: every task's training images in one shuffled stream. */
        public Settings asJoint() {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, seed, true, validationPerTask, correctionKind);
        }

        /**
         * The validation protocol, for tuning: each task's held-out images (the EVAL samples streamed and
         * the images of the accuracy matrix) are {@code perTask} of its <em>training</em> images, removed
         * from the training stream; the test set is not touched. 0 = off (held-out images from the test set).
         */
        public Settings withValidation(int perTask) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, seed, joint, perTask, correctionKind);
        }

        public Settings withSeed(long s) {
            return new Settings(tasks, classesPerTask, maxTrainPerTask, evalShare, labelNoise, correctedShare, feedbackDelay,
                    requestShare, modelId, s, joint, validationPerTask, correctionKind);
        }
    }

    /** One record to produce, in order: a sample or a feedback. */
    public sealed interface Event permits SampleEvent, FeedbackEvent {
        String key();

        int task();
    }

    public record SampleEvent(Sample sample, int task, boolean flipped, int trueLabel) implements Event {
        @Override
        public String key() {
            return sample.getId();
        }
    }

    /** Feedback; {@code task} is the task being streamed when it is sent (not necessarily its sample's). */
    public record FeedbackEvent(Feedback feedback, int task) implements Event {
        @Override
        public String key() {
            return feedback.getSampleId();
        }
    }

    /** A task's held-out test images (not streamed), for the accuracy matrix. */
    public record TaskTest(int task, List<Integer> classes, byte[][] images, int[] labels) {
    }

    private final Settings settings;
    private final List<Event> events;
    private final List<TaskTest> tests;
    private final int[] trainCounts;

    private ClassIncrementalStream(Settings settings, List<Event> events, List<TaskTest> tests, int[] trainCounts) {
        this.settings = settings;
        this.events = events;
        this.tests = tests;
        this.trainCounts = trainCounts;
    }

    /** The event time of the first event unless told otherwise: fixed, so the stream is reproducible. */
    public static final Instant DEFAULT_START = Instant.parse("2026-01-01T00:00:00Z");

    public static ClassIncrementalStream build(FashionMnist.Data data, Settings s) {
        return build(data, s, DEFAULT_START);
    }

    /**
     * The stream with event times starting at {@code start}, every event (sample or feedback) one millisecond after
     * the one before (a live demo starts at now, so the age of samples — model freshness — reads true).
     */
    public static ClassIncrementalStream build(FashionMnist.Data data, Settings s, Instant start) {
        Random random = new Random(s.seed());
        // what the simulated people do beyond the two draws per sample (request? flipped?) that clean streams make
        // too: which wrong label, and whether it is corrected. Drawn apart, so that noisy streams keep the clean
        // stream's order, and a stream with 30% flipped labels flips the same samples as one with 10%, and more
        Random people = new Random(s.seed() * 0x9E3779B97F4A7C15L + 1);
        List<Event> events = new ArrayList<>();
        List<TaskTest> tests = new ArrayList<>();
        int[] trainCounts = new int[s.tasks()];
        // feedback waiting for its position in the stream: (due index, event)
        PriorityQueue<long[]> dueOrder = new PriorityQueue<>((a, b) -> Long.compare(a[0], b[0]));
        List<Feedback> pending = new ArrayList<>();
        Instant clock = start;
        int position = 0;
        for (int task = 0; task < s.tasks(); task++) {
            List<Integer> classes = new ArrayList<>();
            for (int c = 0; c < s.classesPerTask(); c++) {
                classes.add(task * s.classesPerTask() + c);
            }
            String taskName = "t" + task;
            // held-out images of this task: a share streamed as EVAL, the rest kept for the matrix; from the
            // test set, or in the validation protocol from a slice of the training images (never streamed)
            FashionMnist.Split heldFrom = s.validationPerTask() > 0 ? data.train() : data.test();
            List<Integer> trainIdx = indicesOf(data.train(), classes);
            List<Integer> testIdx;
            if (s.validationPerTask() > 0) {
                java.util.Collections.shuffle(trainIdx, random);
                if (s.validationPerTask() >= trainIdx.size()) {
                    throw new IllegalArgumentException("validation slice of " + s.validationPerTask() + " images leaves none of task "
                            + task + "'s " + trainIdx.size() + " training images to stream; use a smaller slice");
                }
                testIdx = new ArrayList<>(trainIdx.subList(0, s.validationPerTask()));
                trainIdx = new ArrayList<>(trainIdx.subList(s.validationPerTask(), trainIdx.size()));
            } else {
                testIdx = indicesOf(data.test(), classes);
            }
            java.util.Collections.shuffle(testIdx, random);
            int evalCount = (int) Math.round(testIdx.size() * s.evalShare());
            String heldPrefix = s.validationPerTask() > 0 ? "v" : "e";
            for (int i = 0; i < evalCount; i++) {
                int idx = testIdx.get(i);
                events.add(new SampleEvent(sample(heldPrefix + idx, heldFrom.images()[idx], heldFrom.labels()[idx], Split.EVAL,
                        taskName, s.modelId(), clock.plusMillis(position++)), task, false, heldFrom.labels()[idx]));
            }
            List<Integer> kept = testIdx.subList(evalCount, testIdx.size());
            byte[][] tx = new byte[kept.size()][];
            int[] ty = new int[kept.size()];
            for (int i = 0; i < kept.size(); i++) {
                tx[i] = heldFrom.images()[kept.get(i)];
                ty[i] = heldFrom.labels()[kept.get(i)];
            }
            tests.add(new TaskTest(task, List.copyOf(classes), tx, ty));

            java.util.Collections.shuffle(trainIdx, random);
            if (s.maxTrainPerTask() > 0 && trainIdx.size() > s.maxTrainPerTask()) {
                trainIdx = trainIdx.subList(0, s.maxTrainPerTask());
            }
            trainCounts[task] = trainIdx.size();
            for (int idx : trainIdx) {
                int trueLabel = data.train().labels()[idx];
                String id = "x" + idx;
                boolean request = random.nextDouble() < s.requestShare();
                boolean flipped = !request && s.classesPerTask() > 1 && random.nextDouble() < s.labelNoise();
                Integer label = request ? null : flipped ? otherClass(classes, trueLabel, people) : trueLabel;
                Instant t = clock.plusMillis(position++);
                events.add(new SampleEvent(sample(id, data.train().images()[idx], label, Split.TRAIN, taskName, s.modelId(), t),
                        task, flipped, trueLabel));
                if (request || (flipped && people.nextDouble() < s.correctedShare())) {
                    boolean reject = !request && s.correctionKind() == FeedbackKind.REJECT;
                    Feedback f = Feedback.newBuilder().setSampleId(id).setModelId(s.modelId())
                            .setKind(reject ? FeedbackKind.REJECT : FeedbackKind.LABEL).setLabel(reject ? null : trueLabel)
                            .setAnnotator("simulated").setEventTime(t).build(); // stamped when sent, below
                    pending.add(f);
                    dueOrder.add(new long[] {events.size() + (long) s.feedbackDelay(), pending.size() - 1});
                }
                while (!dueOrder.isEmpty() && dueOrder.peek()[0] <= events.size()) {
                    // the event belongs to the task being streamed when it is sent, whatever its sample's task
                    events.add(new FeedbackEvent(sent(pending.get((int) dueOrder.poll()[1]), clock.plusMillis(position++)), task));
                }
            }
        }
        while (!dueOrder.isEmpty()) {
            events.add(new FeedbackEvent(sent(pending.get((int) dueOrder.poll()[1]), clock.plusMillis(position++)), s.tasks() - 1));
        }
        if (s.joint()) {
            // held-out samples first, then every training sample of every task in one shuffled order
            List<Event> held = new ArrayList<>();
            List<Event> train = new ArrayList<>();
            for (Event e : events) {
                (e instanceof SampleEvent se && se.sample().getSplit() == Split.EVAL ? held : train).add(e);
            }
            java.util.Collections.shuffle(train, random);
            held.addAll(train);
            events = held;
        }
        return new ClassIncrementalStream(s, List.copyOf(events), List.copyOf(tests), trainCounts);
    }

    public Settings settings() {
        return settings;
    }

    /** This stream with {@code more} events after its last (e.g. a {@link PoisonedBurst}); the same held-out tests. */
    public ClassIncrementalStream followedBy(List<Event> more) {
        List<Event> all = new ArrayList<>(events);
        all.addAll(more);
        return new ClassIncrementalStream(settings, List.copyOf(all), tests, trainCounts);
    }

    /** Every record to produce, in order. */
    public List<Event> events() {
        return events;
    }

    /** Per task, the held-out test images that are not streamed. */
    public List<TaskTest> tests() {
        return tests;
    }

    /** Training samples streamed per task. */
    public int trainCount(int task) {
        return trainCounts[task];
    }

    /**
     * The feedback stamped with the time of its own place in the stream: every event has a time of its own, in
     * stream order, so that a consumer ordering two topics by timestamp (Kafka Streams does) reads them in the
     * order they were produced, and in process (events in list order) and through Kafka see the same order.
     */
    private static Feedback sent(Feedback f, Instant at) {
        f.setEventTime(at);
        return f;
    }

    private static Sample sample(String id, byte[] pixels, Integer label, Split split, String task, String modelId, Instant t) {
        return Sample.newBuilder().setId(id).setModelId(modelId)
                .setFeatures(FeatureTensor.ofBytes(new int[] {1, FashionMnist.ROWS, FashionMnist.COLS}, pixels))
                .setLabel(label).setSplit(split).setTask(task).setSource("fashion-mnist").setEventTime(t).build();
    }

    private static List<Integer> indicesOf(FashionMnist.Split split, List<Integer> classes) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < split.size(); i++) {
            if (classes.contains(split.labels()[i])) {
                out.add(i);
            }
        }
        return out;
    }

    private static int otherClass(List<Integer> classes, int label, Random random) {
        int pick;
        do {
            pick = classes.get(random.nextInt(classes.size()));
        } while (pick == label);
        return pick;
    }
}
