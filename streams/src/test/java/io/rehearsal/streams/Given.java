package io.rehearsal.streams;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Test vocabulary: small samples (4 features, 10 classes), feedback, and settings for specifications. */
final class Given {
    static final String MODEL = "m";
    static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    private Given() {
    }

    /**
     * Small, readable settings: B = 8, R = 2 (G = 4 groups), 2 fresh + 2 recall groups, M = 100,
     * K_short = 0, I_0 = 4, I_max = 16, I_min = 1, g = 2, no jitter, no linger, no eval rounds; one model,
     * {@value #MODEL}.
     */
    static CuratorSettings settings() {
        return CuratorSettings.defaults()
                .optContract(ModelContract.flat(4, 10)).optModelIds(MODEL)
                .optBatchSize(8).optViews(2).optFreshShare(0.5).optLongTermShare(0.5)
                .optLongTermCapacity(100).optShortTermRecalls(0)
                .optIntervals(4, 16, 1).optIntervalGrowth(2.0).optJitter(0).optFillRecalls(false)
                .optLinger(Duration.ZERO).optEvalEverySteps(0);
    }

    static Sample sample(String id, int label) {
        return sample(MODEL, id, label);
    }

    static Sample sample(String model, String id, Integer label) {
        return Sample.newBuilder()
                .setId(id)
                .setModelId(model)
                .setFeatures(FeatureTensor.ofFloats(new int[] {4}, features(id)))
                .setLabel(label)
                .setSplit(Split.TRAIN)
                .setTask(label == null ? null : "t" + label / 2)
                .setEventTime(T0)
                .build();
    }

    /** An unlabeled sample: a request to predict. */
    static Sample request(String id) {
        return sample(MODEL, id, null);
    }

    static Sample eval(String id, int label) {
        Sample s = sample(id, label);
        s.setSplit(Split.EVAL);
        return s;
    }

    static Feedback label(String id, int label, long eventSecond) {
        return feedback(id, FeedbackKind.LABEL, label, eventSecond, 1f);
    }

    static Feedback confirm(String id, long eventSecond) {
        return feedback(id, FeedbackKind.CONFIRM, null, eventSecond, 1f);
    }

    static Feedback reject(String id, long eventSecond) {
        return feedback(id, FeedbackKind.REJECT, null, eventSecond, 1f);
    }

    static Feedback feedback(String id, FeedbackKind kind, Integer label, long eventSecond, float trust) {
        return Feedback.newBuilder()
                .setSampleId(id)
                .setModelId(MODEL)
                .setKind(kind)
                .setLabel(label)
                .setAnnotator("annotator")
                .setTrust(trust)
                .setEventTime(T0.plusSeconds(eventSecond))
                .build();
    }

    static byte[] json(String text) {
        return text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    static float[] features(String id) {
        int h = id.hashCode();
        return new float[] {h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, (h >> 24) & 0xff};
    }

    /** Sample ids of a batch's items, in group order. */
    static List<String> ids(TrainBatch b) {
        return b.getItems().stream().map(TrainItem::getSampleId).toList();
    }

    static List<String> ids(TrainBatch b, ItemRole role) {
        return b.getItems().stream().filter(i -> i.getRole() == role).map(TrainItem::getSampleId).toList();
    }

    static TrainItem item(TrainBatch b, String sampleId) {
        return b.getItems().stream().filter(i -> i.getSampleId().equals(sampleId)).findFirst().orElse(null);
    }
}
