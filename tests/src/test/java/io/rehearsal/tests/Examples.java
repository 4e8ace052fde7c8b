package io.rehearsal.tests;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.ScoredLabel;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Small, valid example records for integration tests. */
final class Examples {
    static final Instant T0 = Instant.parse("2026-11-28T00:00:00Z");

    private Examples() {
    }

    static Sample sample(String id, Integer label) {
        return Sample.newBuilder().setId(id).setModelId("fashion")
                .setFeatures(FeatureTensor.ofFloats(new int[] {2, 2}, new float[] {0f, 0.25f, 0.5f, 1f}))
                .setLabel(label).setSplit(Split.TRAIN).setTask("t1").setSource("test").setEventTime(T0).build();
    }

    static Feedback feedback(String sampleId, int label) {
        return Feedback.newBuilder().setSampleId(sampleId).setModelId("fashion").setKind(FeedbackKind.LABEL)
                .setLabel(label).setAnnotator("ann").setEventTime(T0).build();
    }

    static TrainBatch trainBatch() {
        TrainItem item = TrainItem.newBuilder().setSampleId("s1").setLabel(3).setLabelVersion(0)
                .setFeatures(sample("s1", 3).getFeatures()).setViews(4).setGroupId(0).setRole(ItemRole.FRESH)
                .setRecallCount(0).setSourcePartition(0).setSourceOffset(0).setEventTime(T0).build();
        return TrainBatch.newBuilder().setBatchId("fashion/0/0").setModelId("fashion").setShard(0).setSequence(0)
                .setKind(BatchKind.TRAIN).setViews(4).setItems(List.of(item))
                .setStats(new ScheduleStats(1, 0, 0, 0, 0.0, 1, 0, 1)).setSampleOffset(0).setCreatedTime(T0).build();
    }

    static ModelSnapshot snapshot() {
        return ModelSnapshot.newBuilder().setModelId("fashion").setVersion(1).setStep(10).setCreatedTime(T0)
                .setFormatVersion(1).setSpec(new ModelSpec("mlp", List.of(784), 10, Map.of()))
                .setParameters(ParameterBlob.newBuilder().setEncoding("npz").setSizeBytes(3).setSha256("00")
                        .setInline(ByteBuffer.wrap(new byte[] {1, 2, 3})).build())
                .setMetrics(SnapshotMetrics.newBuilder().setSamplesSeen(1).setLoss(1).setCrossEntropy(1).setConsistency(0).build())
                .setProvenance(Provenance.newBuilder().setSettings(Map.of()).setSeed(1).setBatchOffsets(List.of())
                        .setSampleOffsets(List.of()).setBufferSize(0).setProjectVersion("test").setGitSha("test")
                        .setJavaVersion("17").setDjlVersion("0.36.0").setEngineVersion("2.7.1").setDevice("cpu()")
                        .setHost("localhost").build())
                .build();
    }

    static SnapshotChunk chunk() {
        return new SnapshotChunk("fashion", 1L, 0, 1, ByteBuffer.wrap(new byte[] {9, 8, 7}));
    }

    static Prediction prediction() {
        return Prediction.newBuilder().setSampleId("s2").setModelId("fashion").setLabel(1).setConfidence(0.9f)
                .setTopK(List.of(new ScoredLabel(1, 0.9f))).setModelVersion(1).setPredictedTime(T0).build();
    }

    static DeadLetter deadLetter() {
        return DeadLetter.newBuilder().setSourceTopic("rehearsal.samples").setSourcePartition(0).setSourceOffset(1)
                .setPayload(ByteBuffer.wrap(new byte[] {1})).setReason("BAD_MARKER").setMessage("not Avro")
                .setComponent("curator").setTime(T0).build();
    }
}
