package io.rehearsal.tests;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * A stream for fuzzing the curator and the trainer through a real broker: good samples (which must all be
 * trained) mixed with bad records of every kind a producer can get wrong, each with the dead-letter reason
 * it must end with, plus valid but hostile feedback (loops of conflicting feedback on the same sample,
 * then a REJECT and more feedback). Records are ordered by position and stamped with strictly increasing
 * timestamps in that order, so the curator processes them in exactly this order.
 */
final class BadRecords {
    static final String MODEL = "fuzz";
    static final int DIMS = 16;
    static final int CLASSES = 4;
    /** Feedback for samples that never come, beyond the curator's pending capacity, overflows. */
    static final int PENDING_CAPACITY = 300;
    static final String EXPIRED_OR_OVERFLOW = "FEEDBACK_EXPIRED|FEEDBACK_OVERFLOW";

    /** One record to produce; {@code reason} is the dead-letter reason it must get, null if none. */
    record Planned(String topic, String key, byte[] value, double position, String reason, String kind) {
    }

    private final Topics topics;
    private final Random random;
    private final List<Planned> records = new ArrayList<>();
    private final List<String> good = new ArrayList<>();
    private final List<Planned> goodSamples = new ArrayList<>();
    private int serial;

    BadRecords(Topics topics, long seed) {
        this.topics = topics;
        this.random = new Random(seed);
    }

    /** The stream: {@code goodCount} good samples, and bad and hostile records around them. */
    BadRecords build(int goodCount) {
        for (int i = 0; i < goodCount; i++) {
            Sample s = sample("g" + i, i % CLASSES, floats(i % CLASSES), Split.TRAIN);
            Planned p = add(topics.samples().name(), s.getId(), avro(s), i, null, "good");
            good.add(s.getId());
            goodSamples.add(p);
        }
        double span = goodCount;
        // ---- samples ----
        repeat(1000, () -> add(samples(), "rb" + serial, randomBytes(), pos(span), "BAD_MARKER", "random bytes"));
        repeat(200, () -> add(samples(), "e" + serial, new byte[0], pos(span), "EMPTY", "empty value"));
        repeat(100, () -> add(samples(), "n" + serial, null, pos(span), "EMPTY", "null value (tombstone)"));
        repeat(1000, () -> add(samples(), "t" + serial, truncate(avro(anySample())), pos(span), "MALFORMED_AVRO", "truncated Avro"));
        repeat(800, () -> add(samples(), "f" + serial, wrongFingerprint(avro(anySample())), pos(span), "UNKNOWN_FINGERPRINT",
                "wrong fingerprint"));
        repeat(200, () -> {
            byte[] b = avro(anySample());
            b[1] = (byte) (2 + random.nextInt(200)); // C3 then not 01
            return add(samples(), "h" + serial, b, pos(span), "BAD_MARKER", "bad Avro header");
        });
        repeat(1000, () -> add(samples(), "wt" + serial, wrongTypeSample(), pos(span), "WRONG_TYPE", "wrong JSON types"));
        repeat(500, () -> add(samples(), "mj" + serial, malformedJson(), pos(span), "MALFORMED_JSON", "malformed JSON"));
        repeat(300, () -> add(samples(), "mf" + serial, missingField(), pos(span), "MISSING_FIELD", "missing JSON field"));
        repeat(300, () -> add(samples(), "hs" + serial, avro(withFeatures(anySample(), shaped(new int[] {100_000, 100_000}, DIMS))),
                pos(span), "INVALID_VALUE", "huge shape (10^10 elements)"));
        repeat(200, () -> add(samples(), "hj" + serial, JsonCodec.bytes("{\"id\":\"hj" + serial + "\",\"modelId\":\"" + MODEL
                + "\",\"features\":{\"shape\":[2147483647,2147483647],\"float32\":[1]},\"label\":1}"), pos(span), "INVALID_VALUE",
                "huge shape (JSON)"));
        repeat(300, () -> add(samples(), "hm" + serial, avro(withFeatures(anySample(), shaped(new int[] {4096, 4096}, DIMS))),
                pos(span), "SHAPE_MISMATCH", "shape of 16M elements, 16 given"));
        repeat(500, () -> add(samples(), "ws" + serial, avro(withFeatures(anySample(), FeatureTensor.ofFloats(new int[] {2 * DIMS},
                new float[2 * DIMS]))), pos(span), "SHAPE_MISMATCH", "not the model's input size"));
        repeat(200, () -> add(samples(), "nd" + serial, avro(withFeatures(anySample(), shaped(new int[] {-1, DIMS}, DIMS))),
                pos(span), "INVALID_VALUE", "negative dimension"));
        repeat(800, () -> {
            float[] x = floats(1);
            x[random.nextInt(DIMS)] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[random.nextInt(3)];
            return add(samples(), "nf" + serial, avro(withFeatures(anySample(), FeatureTensor.ofFloats(new int[] {DIMS}, x))),
                    pos(span), "NON_FINITE", "NaN or infinite feature");
        });
        repeat(200, () -> add(samples(), "nj" + serial, JsonCodec.bytes("{\"id\":\"nj" + serial + "\",\"modelId\":\"" + MODEL
                + "\",\"features\":{\"shape\":[2],\"float32\":[NaN,1]},\"label\":1}"), pos(span), "NON_FINITE", "NaN in JSON"));
        repeat(500, () -> {
            Sample s = anySample();
            s.setLabel(-1 - random.nextInt(1000));
            return add(samples(), s.getId(), avro(s), pos(span), "INVALID_VALUE", "negative label");
        });
        repeat(500, () -> {
            Sample s = anySample();
            s.setLabel(random.nextBoolean() ? CLASSES + random.nextInt(100) : Integer.MAX_VALUE);
            return add(samples(), s.getId(), avro(s), pos(span), "UNKNOWN_LABEL", "label outside the classes");
        });
        repeat(500, () -> {
            Planned original = goodSamples.get(random.nextInt(goodSamples.size()));
            return add(samples(), original.key(), original.value(), original.position() + 1 + random.nextInt(50),
                    "DUPLICATE_SAMPLE", "duplicated id");
        });
        repeat(200, () -> {
            Sample s = anySample();
            s.setSplit(Split.EVAL);
            s.setLabel(null);
            return add(samples(), s.getId(), avro(s), pos(span), "MISSING_LABEL", "EVAL sample without a label");
        });
        repeat(100, () -> {
            Sample s = anySample();
            s.setId("");
            return add(samples(), "empty-id", avro(s), pos(span), "INVALID_VALUE", "empty id");
        });
        repeat(100, () -> add(samples(), "sp" + serial, JsonCodec.bytes("{\"id\":\"sp" + serial + "\",\"modelId\":\"" + MODEL
                + "\",\"features\":{\"shape\":[2],\"float32\":[1,2]},\"split\":\"TEST\"}"), pos(span), "INVALID_VALUE", "unknown split"));

        // ---- feedback ----
        repeat(500, () -> add(feedback(), "rf" + serial, randomBytes(), pos(span), "BAD_MARKER", "feedback: random bytes"));
        repeat(500, () -> add(feedback(), "tf" + serial, truncate(avro(feedbackOn("g" + random.nextInt(goodCount), 1))), pos(span),
                "MALFORMED_AVRO", "feedback: truncated Avro"));
        repeat(300, () -> add(feedback(), "ff" + serial, wrongFingerprint(avro(feedbackOn("g1", 1))), pos(span),
                "UNKNOWN_FINGERPRINT", "feedback: wrong fingerprint"));
        repeat(500, () -> add(feedback(), "wf" + serial, wrongTypeFeedback(), pos(span), "WRONG_TYPE", "feedback: wrong JSON types"));
        repeat(200, () -> {
            Feedback f = feedbackOn("g" + random.nextInt(goodCount), 1);
            f.setLabel(null);
            return add(feedback(), f.getSampleId(), avro(f), pos(span), "MISSING_FIELD", "feedback: LABEL without a label");
        });
        repeat(200, () -> {
            Feedback f = feedbackOn("g" + random.nextInt(goodCount), -1 - random.nextInt(10));
            return add(feedback(), f.getSampleId(), avro(f), pos(span), "INVALID_VALUE", "feedback: negative label");
        });
        repeat(300, () -> {
            Feedback f = feedbackOn("g" + random.nextInt(goodCount), 1);
            f.setTrust(new float[] {0f, -1f, 1.5f, Float.NaN}[random.nextInt(4)]);
            return add(feedback(), f.getSampleId(), avro(f), pos(span), "INVALID_VALUE", "feedback: trust outside (0, 1]");
        });
        repeat(100, () -> add(feedback(), "k" + serial, JsonCodec.bytes("{\"sampleId\":\"g1\",\"kind\":\"MAYBE\"}"), pos(span),
                "INVALID_VALUE", "feedback: unknown kind"));
        repeat(300, () -> {
            Planned target = goodSamples.get(random.nextInt(goodSamples.size()));
            Feedback f = feedbackOn(target.key(), CLASSES + random.nextInt(50));
            return add(feedback(), f.getSampleId(), avro(f), target.position() + 1 + random.nextInt(50), "UNKNOWN_LABEL",
                    "feedback: label outside the classes");
        });
        repeat(PENDING_CAPACITY + 100, () -> {
            Feedback f = feedbackOn("never-" + serial, 1);
            return add(feedback(), f.getSampleId(), avro(f), pos(span), EXPIRED_OR_OVERFLOW, "feedback: its sample never comes");
        });
        // ---- feedback loops: valid but hostile; then a REJECT, then more feedback and the sample again ----
        for (int d = 0; d < 100; d++) {
            double at = pos(span * 0.8);
            Sample decoy = sample("d" + d, d % CLASSES, floats(d % CLASSES), Split.TRAIN);
            add(samples(), decoy.getId(), avro(decoy), at, null, "loop: the sample");
            for (int k = 1; k <= 10; k++) {
                Feedback f = feedbackOn(decoy.getId(), k % CLASSES);
                f.setKind(k % 3 == 0 ? FeedbackKind.CONFIRM : FeedbackKind.LABEL);
                f.setLabel(f.getKind() == FeedbackKind.LABEL ? k % CLASSES : null);
                // event times jump back and forth: later ones win, earlier ones are superseded
                f.setEventTime(Instant.ofEpochMilli(1_000_000L + (k % 2 == 0 ? k : 20 - k)));
                add(feedback(), decoy.getId(), avro(f), at + k, null, "loop: conflicting feedback");
            }
            Feedback reject = feedbackOn(decoy.getId(), 0);
            reject.setKind(FeedbackKind.REJECT);
            reject.setLabel(null);
            reject.setEventTime(Instant.ofEpochMilli(2_000_000L));
            add(feedback(), decoy.getId(), avro(reject), at + 11, null, "loop: REJECT");
            for (int k = 0; k < 3; k++) {
                add(feedback(), decoy.getId(), avro(feedbackOn(decoy.getId(), 2)), at + 12 + k, "SAMPLE_REJECTED",
                        "loop: feedback after REJECT");
            }
            add(samples(), decoy.getId(), avro(decoy), at + 15, "SAMPLE_REJECTED", "loop: the sample again after REJECT");
        }
        // two good samples far later in stream time: every feedback still waiting for its sample expires
        for (int i = 0; i < 2; i++) {
            Sample s = sample("late" + i, i, floats(i), Split.TRAIN);
            Planned p = add(samples(), s.getId(), avro(s), Double.MAX_VALUE, null, "good (late)");
            good.add(s.getId());
            goodSamples.add(p);
        }
        records.sort(Comparator.comparingDouble(Planned::position));
        return this;
    }

    /** In processing order. */
    List<Planned> records() {
        return records;
    }

    /** Ids of the good samples: each must be trained (FRESH) exactly once. */
    List<String> good() {
        return good;
    }

    /** Garbage on the batch topic, keyed by the model id: the trainer must refuse each (reason in {@code kind}). */
    List<Planned> badBatches() {
        List<Planned> out = new ArrayList<>();
        TrainBatch valid = batch(0);
        for (int i = 0; i < 30; i++) {
            out.add(new Planned(topics.trainBatches().name(), MODEL, randomBytes(), i, "BAD_MARKER", "batch: random bytes"));
        }
        for (int i = 0; i < 20; i++) {
            out.add(new Planned(topics.trainBatches().name(), MODEL, truncate(topics.trainBatches().serializeValue(valid)), i,
                    "MALFORMED_AVRO", "batch: truncated Avro"));
        }
        for (int i = 0; i < 10; i++) {
            out.add(new Planned(topics.trainBatches().name(), MODEL, topics.trainBatches().serializeValue(batch(CLASSES + i)), i,
                    "UNKNOWN_LABEL", "batch: label outside the classes"));
        }
        return out;
    }

    // ---- builders ----

    private interface Maker {
        Planned make();
    }

    private void repeat(int n, Maker maker) {
        for (int i = 0; i < n; i++) {
            maker.make();
        }
    }

    private Planned add(String topic, String key, byte[] value, double position, String reason, String kind) {
        serial++;
        Planned p = new Planned(topic, key, value, position, reason, kind);
        records.add(p);
        return p;
    }

    private String samples() {
        return topics.samples().name();
    }

    private String feedback() {
        return topics.feedback().name();
    }

    private double pos(double span) {
        return random.nextDouble() * span;
    }

    static Sample sample(String id, Integer label, float[] x, Split split) {
        return Sample.newBuilder().setId(id).setModelId(MODEL).setFeatures(FeatureTensor.ofFloats(new int[] {DIMS}, x))
                .setLabel(label).setSplit(split).setSource("fuzz").setEventTime(Instant.ofEpochMilli(1_000_000L)).build();
    }

    /** A bad sample's starting point: valid, with a fresh id. */
    private Sample anySample() {
        return sample("b" + serial, random.nextInt(CLASSES), floats(random.nextInt(CLASSES)), Split.TRAIN);
    }

    private Feedback feedbackOn(String id, int label) {
        return Feedback.newBuilder().setSampleId(id).setModelId(MODEL).setKind(FeedbackKind.LABEL).setLabel(label)
                .setAnnotator("fuzz").setEventTime(Instant.ofEpochMilli(1_000_000L + serial)).build();
    }

    /** Class-dependent features: the class's direction plus noise. */
    float[] floats(int label) {
        float[] x = new float[DIMS];
        for (int d = 0; d < DIMS; d++) {
            x[d] = (float) (random.nextGaussian() * 0.3 + (d % CLASSES == label ? 1.0 : 0.0));
        }
        return x;
    }

    private static Sample withFeatures(Sample s, io.rehearsal.schemas.avro.Features f) {
        s.setFeatures(f);
        return s;
    }

    private static io.rehearsal.schemas.avro.Features shaped(int[] shape, int values) {
        io.rehearsal.schemas.avro.Features f = FeatureTensor.ofFloats(new int[] {values}, new float[values]);
        List<Integer> dims = new ArrayList<>();
        for (int d : shape) {
            dims.add(d);
        }
        f.setShape(dims);
        return f;
    }

    private byte[] avro(Sample s) {
        return topics.samples().serializeValue(s);
    }

    private byte[] avro(Feedback f) {
        return topics.feedback().serializeValue(f);
    }

    private byte[] randomBytes() {
        byte[] b = new byte[1 + random.nextInt(200)];
        random.nextBytes(b);
        while (b[0] == (byte) 0xC3 || b[0] == '{' || b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
            b[0] = (byte) random.nextInt(256);
        }
        return b;
    }

    private byte[] truncate(byte[] valid) {
        return Arrays.copyOf(valid, 10 + random.nextInt(valid.length - 10));
    }

    private byte[] wrongFingerprint(byte[] valid) {
        byte[] b = valid.clone();
        for (int i = 2; i < 10; i++) {
            b[i] = (byte) random.nextInt(256);
        }
        return b;
    }

    private byte[] wrongTypeSample() {
        String id = "\"wt" + serial + "\"";
        String features = "{\"shape\":[2],\"float32\":[1,2]}";
        String json = switch (random.nextInt(7)) {
            case 0 -> "{\"id\":" + serial + ",\"features\":" + features + "}";
            case 1 -> "{\"id\":" + id + ",\"features\":" + features + ",\"label\":\"three\"}";
            case 2 -> "{\"id\":" + id + ",\"features\":{\"shape\":\"2\",\"float32\":[1,2]}}";
            case 3 -> "{\"id\":" + id + ",\"features\":{\"shape\":[2],\"float32\":[1,\"x\"]}}";
            case 4 -> "{\"id\":" + id + ",\"features\":" + features + ",\"eventTime\":true}";
            case 5 -> "{\"id\":" + id + ",\"features\":[1,2]}";
            default -> "{\"id\":" + id + ",\"features\":{\"shape\":[2],\"uint8\":[1,300]}}";
        };
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private byte[] malformedJson() {
        String valid = JsonCodec.toJson(anySample());
        if (random.nextInt(5) == 0) {
            return JsonCodec.bytes("{\"id\":\"a\",\"id\":\"b\",\"features\":{\"shape\":[1],\"float32\":[1]}}"); // duplicate key
        }
        return valid.substring(0, 1 + random.nextInt(valid.length() - 1)).getBytes(StandardCharsets.UTF_8);
    }

    private byte[] missingField() {
        return JsonCodec.bytes(switch (random.nextInt(3)) {
            case 0 -> "{\"id\":\"mf" + serial + "\",\"label\":1}";
            case 1 -> "{\"features\":{\"shape\":[1],\"float32\":[1]}}";
            default -> "{\"id\":\"mf" + serial + "\",\"features\":{\"shape\":[1]}}";
        });
    }

    private byte[] wrongTypeFeedback() {
        return JsonCodec.bytes(switch (random.nextInt(3)) {
            case 0 -> "{\"sampleId\":\"g1\",\"kind\":\"LABEL\",\"label\":\"x\"}";
            case 1 -> "{\"sampleId\":\"g1\",\"kind\":\"CONFIRM\",\"trust\":\"high\"}";
            default -> "{\"sampleId\":\"g1\",\"kind\":3}";
        });
    }

    private TrainBatch batch(int label) {
        TrainItem item = TrainItem.newBuilder().setSampleId("fake").setLabel(label).setLabelVersion(0)
                .setFeatures(FeatureTensor.ofFloats(new int[] {DIMS}, new float[DIMS])).setViews(1).setGroupId(0)
                .setRole(ItemRole.FRESH).setRecallCount(0).setSourcePartition(0).setSourceOffset(0)
                .setEventTime(Instant.EPOCH).build();
        return TrainBatch.newBuilder().setBatchId(MODEL + "/fake/" + label).setModelId(MODEL).setShard(0).setSequence(0)
                .setKind(BatchKind.TRAIN).setViews(1).setItems(List.of(item))
                .setStats(new ScheduleStats(1, 0, 0, 0, 0.0, 0, 0, 1)).setSampleOffset(-1).setCreatedTime(Instant.EPOCH).build();
    }
}
