package io.rehearsal.bench.data;

import io.rehearsal.bench.data.ClassIncrementalStream.Event;
import io.rehearsal.bench.data.ClassIncrementalStream.FeedbackEvent;
import io.rehearsal.bench.data.ClassIncrementalStream.SampleEvent;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

/**
 * A burst of wrong labels after a class-incremental stream, as a broken producer or a careless labeler would
 * send it, and the people who clean it up: {@code burst} training images of every class streamed so far, a
 * {@code classShare} of them of the poisoned class, a {@code flipShare} of those labeled as {@code targetClass};
 * each flipped sample rejected by feedback {@code feedbackDelay} samples later; then {@code tail} clean images
 * of every class. Seeded: the same settings give the same events.
 *
 * @param poisonedClass the class whose labels are flipped
 * @param targetClass   the label they get instead
 */
public record PoisonedBurst(int poisonedClass, int targetClass, double classShare, double flipShare, int burst, int tail,
                            int feedbackDelay, long seed) {
    public PoisonedBurst {
        if (poisonedClass == targetClass || poisonedClass < 0 || targetClass < 0) {
            throw new IllegalArgumentException("the poisoned class and the label it gets must be two classes, got "
                    + poisonedClass + " and " + targetClass);
        }
        if (!(classShare > 0 && classShare <= 1 && flipShare > 0 && flipShare <= 1) || burst < 1 || tail < 0 || feedbackDelay < 0) {
            throw new IllegalArgumentException("shares in (0, 1], burst >= 1, tail and feedbackDelay >= 0");
        }
    }

    /** Half of the burst of the poisoned class, half of those flipped to {@code targetClass}. */
    public static PoisonedBurst of(int poisonedClass, int targetClass, int burst, long seed) {
        return new PoisonedBurst(poisonedClass, targetClass, 0.5, 0.5, burst, burst, burst / 2, seed);
    }

    /**
     * The events after {@code stream}'s last: the burst, the rejections, the clean tail, stamped on from
     * {@code after}, all in the last task.
     */
    public List<Event> events(FashionMnist.Data data, ClassIncrementalStream stream, Instant after) {
        ClassIncrementalStream.Settings s = stream.settings();
        int classes = s.tasks() * s.classesPerTask();
        if (poisonedClass >= classes || targetClass >= classes) {
            throw new IllegalArgumentException("classes " + poisonedClass + " and " + targetClass + " must be among the "
                    + classes + " classes streamed");
        }
        List<List<Integer>> byClass = new ArrayList<>();
        for (int c = 0; c < classes; c++) {
            byClass.add(new ArrayList<>());
        }
        for (int i = 0; i < data.train().size(); i++) {
            int label = data.train().labels()[i];
            if (label < classes) {
                byClass.get(label).add(i);
            }
        }
        Random random = new Random(seed);
        int task = s.tasks() - 1;
        List<Event> out = new ArrayList<>();
        Deque<long[]> due = new ArrayDeque<>(); // (position, index into rejections)
        List<Feedback> rejections = new ArrayList<>();
        Instant t = after;
        for (int n = 0; n < burst + tail; n++) {
            boolean inBurst = n < burst;
            int cls = inBurst && random.nextDouble() < classShare ? poisonedClass : otherThan(inBurst ? poisonedClass : -1, classes, random);
            List<Integer> pool = byClass.get(cls);
            int idx = pool.get(random.nextInt(pool.size()));
            boolean flipped = inBurst && cls == poisonedClass && random.nextDouble() < flipShare;
            String id = (inBurst ? "burst-" : "tail-") + n;
            t = t.plusMillis(1);
            Sample sample = Sample.newBuilder().setId(id).setModelId(s.modelId())
                    .setFeatures(FeatureTensor.ofBytes(new int[] {1, FashionMnist.ROWS, FashionMnist.COLS}, data.train().images()[idx]))
                    .setLabel(flipped ? targetClass : cls).setSplit(Split.TRAIN).setTask("t" + cls / s.classesPerTask())
                    .setSource(inBurst ? "burst" : "tail").setEventTime(t).build();
            out.add(new SampleEvent(sample, task, flipped, cls));
            if (flipped) {
                rejections.add(Feedback.newBuilder().setSampleId(id).setModelId(s.modelId()).setKind(FeedbackKind.REJECT)
                        .setAnnotator("simulated-reviewer").setEventTime(t.plusMillis(feedbackDelay)).build());
                due.add(new long[] {out.size() + (long) feedbackDelay, rejections.size() - 1});
            }
            while (!due.isEmpty() && due.peekFirst()[0] <= out.size()) {
                out.add(new FeedbackEvent(rejections.get((int) due.pollFirst()[1]), task));
            }
        }
        while (!due.isEmpty()) {
            out.add(new FeedbackEvent(rejections.get((int) due.pollFirst()[1]), task));
        }
        return out;
    }

    private static int otherThan(int excluded, int classes, Random random) {
        int c;
        do {
            c = random.nextInt(classes);
        } while (c == excluded);
        return c;
    }
}
