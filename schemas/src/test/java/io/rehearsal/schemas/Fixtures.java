package io.rehearsal.schemas;

import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.CheckScope;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.CommandAction;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.HeldOutResult;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.PolicyCheck;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.Release;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.ScoredLabel;
import io.rehearsal.schemas.avro.SnapshotChunk;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** One deterministic, fully populated example of each record, for round-trip and golden-file tests. */
final class Fixtures {
    static final Instant T0 = Instant.parse("2026-11-28T00:00:00Z");

    private Fixtures() {
    }

    static Sample sample() {
        return Sample.newBuilder()
                .setId("s1").setModelId("fashion")
                .setFeatures(FeatureTensor.ofFloats(new int[] {2, 2}, new float[] {0f, 0.25f, 0.5f, 1f}))
                .setLabel(3).setSplit(Split.TRAIN).setTask("t1").setSource("test").setEventTime(T0)
                .build();
    }

    static Feedback feedback() {
        return Feedback.newBuilder()
                .setSampleId("s1").setModelId("fashion").setKind(FeedbackKind.LABEL).setLabel(4)
                .setAnnotator("ann").setTrust(0.5f).setPredictedLabel(3).setModelVersion(7L).setEventTime(T0)
                .build();
    }

    static TrainBatch trainBatch() {
        TrainItem item = TrainItem.newBuilder()
                .setSampleId("s1").setLabel(3).setLabelVersion(1).setFeatures(sample().getFeatures())
                .setViews(4).setGroupId(0).setRole(ItemRole.RECALL).setRecallCount(2).setTask("t1")
                .setSourcePartition(0).setSourceOffset(41).setEventTime(T0)
                .build();
        ScheduleStats stats = ScheduleStats.newBuilder()
                .setFreshGroups(0).setShortTermRecalls(1).setLongTermRecalls(0).setDueBacklog(5)
                .setMeanLatenessSteps(1.5).setShortTermSize(10).setLongTermSize(200).setClasses(2)
                .build();
        return TrainBatch.newBuilder()
                .setBatchId("fashion/0/9").setModelId("fashion").setShard(0).setSequence(9).setKind(BatchKind.TRAIN)
                .setViews(4).setItems(List.of(item)).setStats(stats).setSampleOffset(41).setEvalRound(null)
                .setCreatedTime(T0)
                .build();
    }

    static ModelSnapshot modelSnapshot() {
        ParameterBlob blob = ParameterBlob.newBuilder()
                .setEncoding("npz").setSizeBytes(4).setSha256("ab".repeat(32)).setInline(null)
                .setChunks(List.of(new ChunkRef("rehearsal.model-chunks", 0, 12L, 4, "cd".repeat(32))))
                .build();
        SnapshotMetrics metrics = SnapshotMetrics.newBuilder()
                .setSamplesSeen(1000).setLoss(0.5).setCrossEntropy(0.4).setConsistency(0.1)
                .setPrequentialAccuracy(0.8).setEvalAccuracy(0.75)
                .setEvalAccuracyByClass(Map.of("0", 0.7, "1", 0.8)).setEvalAccuracyByTask(Map.of("t1", 0.75))
                .build();
        Provenance provenance = Provenance.newBuilder()
                .setSettings(Map.of("lr", "0.01")).setSeed(42)
                .setBatchOffsets(List.of(new TopicPartitionOffset("rehearsal.train-batches", 0, 10L)))
                .setSampleOffsets(List.of(new TopicPartitionOffset("rehearsal.samples", 0, 41L)))
                .setBufferSize(500).setProjectVersion("0.1.0").setGitSha("abc").setJavaVersion("17")
                .setDjlVersion("0.36.0").setEngineVersion("2.7.1").setDevice("cpu()").setHost("localhost")
                .build();
        return ModelSnapshot.newBuilder()
                .setModelId("fashion").setVersion(3).setParentVersion(2L).setStep(300).setCreatedTime(T0)
                .setFormatVersion(1)
                .setSpec(new ModelSpec("mlp", List.of(784), 10, Map.of("hidden", "256,256")))
                .setParameters(blob).setSignature(null).setMetrics(metrics).setProvenance(provenance)
                .build();
    }

    /**
     * The example of {@code record} as written by released schema version {@code version}: the version 1
     * examples above, for ModelSnapshot version 2 the same snapshot with an optimizer state blob (version 3: and
     * the learning report's metrics; version 4: a user's TorchScript network by reference), for DeadLetter version 2 a truncated dead letter with the original's size and
     * SHA-256, and for TrainBatch version 2 the same batch with its item naming its sample instead of carrying its
     * features.
     */
    static SpecificRecord of(String record, int version) {
        if (record.equals("ModelSnapshot") && version == 2) {
            return modelSnapshotV2();
        }
        if (record.equals("ModelSnapshot") && version == 3) {
            return modelSnapshotV3();
        }
        if (record.equals("ModelSnapshot") && version == 4) {
            return modelSnapshotV4();
        }
        if (record.equals("DeadLetter") && version == 2) {
            return deadLetterV2();
        }
        if (record.equals("TrainBatch") && version == 2) {
            return trainBatchV2();
        }
        if (version != 1) {
            throw new IllegalArgumentException("no fixture for " + record + " version " + version + "; add one to Fixtures");
        }
        return switch (record) {
            case "Sample" -> sample();
            case "Feedback" -> feedback();
            case "TrainBatch" -> trainBatch();
            case "ModelSnapshot" -> modelSnapshot();
            case "SnapshotChunk" -> snapshotChunk();
            case "Prediction" -> prediction();
            case "DeadLetter" -> deadLetter();
            case "SampleFeatures" -> sampleFeatures();
            case "Promotion" -> promotion();
            case "ModelCommand" -> modelCommand();
            default -> throw new IllegalArgumentException("no fixture for record " + record);
        };
    }

    /** Version 2 of the snapshot: the version 1 example plus its optimizer state, inline. */
    static ModelSnapshot modelSnapshotV2() {
        ParameterBlob state = ParameterBlob.newBuilder()
                .setEncoding("npz").setSizeBytes(3).setSha256("ef".repeat(32))
                .setInline(ByteBuffer.wrap(new byte[] {7, 8, 9})).setChunks(List.of())
                .build();
        return ModelSnapshot.newBuilder(modelSnapshot()).setOptimizerState(state).build();
    }

    /** Version 3: the version 2 snapshot with what the learning report reads (evaluations, tasks learned, freshness). */
    static ModelSnapshot modelSnapshotV3() {
        ModelSnapshot v2 = modelSnapshotV2();
        SnapshotMetrics metrics = SnapshotMetrics.newBuilder(v2.getMetrics())
                .setEvalStep(280L).setFreshByTask(Map.of("t1", 640L)).setNewestEventTime(T0.minusMillis(1500))
                .setEvaluations(List.of(new HeldOutResult("e1", 0, "t1", true, 1L, 200L),
                        new HeldOutResult("e2", 1, null, false, 2L, 280L)))
                .build();
        return ModelSnapshot.newBuilder(v2).setMetrics(metrics).build();
    }

    /**
     * Version 4: the version 3 snapshot of a user's TorchScript network: the spec names the module by its SHA-256
     * and the architecture blob references its chunk, written once under its own key.
     */
    static ModelSnapshot modelSnapshotV4() {
        ModelSnapshot v3 = modelSnapshotV3();
        String sha = "ab".repeat(32);
        ParameterBlob architecture = ParameterBlob.newBuilder()
                .setEncoding("torchscript").setSizeBytes(4).setSha256(sha).setInline(null)
                .setChunks(List.of(new ChunkRef("rehearsal.model-chunks", 0, 17L, 4, sha)))
                .build();
        return ModelSnapshot.newBuilder(v3)
                .setSpec(new ModelSpec("torchscript", List.of(1, 28, 28), 10, Map.of("sha256", sha)))
                .setArchitecture(architecture).build();
    }

    static SnapshotChunk snapshotChunk() {
        return new SnapshotChunk("fashion", 3L, 0, 1, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}));
    }

    static Prediction prediction() {
        return Prediction.newBuilder()
                .setSampleId("s2").setModelId("fashion").setLabel(1).setConfidence(0.9f)
                .setTopK(List.of(new ScoredLabel(1, 0.9f), new ScoredLabel(0, 0.05f)))
                .setModelVersion(3).setRequestTime(T0).setPredictedTime(T0.plusMillis(5))
                .build();
    }

    static DeadLetter deadLetter() {
        return DeadLetter.newBuilder()
                .setSourceTopic("rehearsal.samples").setSourcePartition(0).setSourceOffset(5)
                .setKey(ByteBuffer.wrap("s9".getBytes())).setPayload(ByteBuffer.wrap(new byte[] {0, 1}))
                .setReason("BAD_MARKER").setMessage("not Avro").setErrorClass(RecordDecodeException.class.getName())
                .setComponent("curator").setTime(T0)
                .build();
    }

    /** Version 2 of the dead letter: a payload cut to a prefix, with the whole original's size and SHA-256. */
    static DeadLetter deadLetterV2() {
        return DeadLetter.newBuilder(deadLetter())
                .setReason("SAMPLE_TOO_LARGE").setMessage("too large")
                .setPayloadSize(9_000_000L).setPayloadSha256("12".repeat(32)).setTruncated(true)
                .build();
    }

    /** A refused candidate: the promoted version, its rollback target, both evaluations and the failed check. */
    static Promotion promotion() {
        // the snapshot's bytes must depend neither on a map's iteration order nor on the current ModelSnapshot
        // schema: the released ModelSnapshot version 3 example, as written when it was released
        byte[] snapshot;
        try (java.io.InputStream in = Fixtures.class.getResourceAsStream("/golden/ModelSnapshot.v3.bin")) {
            snapshot = in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Evaluation candidate = Evaluation.newBuilder()
                .setVersion(5).setSamples(40).setEvalOffset(120).setAccuracy(0.7)
                .setByTask(Map.of("t1", new GroupScore(0.7, 40)))
                .setByClass(Map.of("0", new GroupScore(0.4, 20), "1", new GroupScore(1.0, 20)))
                .build();
        Evaluation baseline = Evaluation.newBuilder(candidate).setVersion(3).setAccuracy(0.9)
                .setByTask(Map.of("t1", new GroupScore(0.9, 40)))
                .setByClass(Map.of("0", new GroupScore(0.85, 20), "1", new GroupScore(0.95, 20)))
                .build();
        return Promotion.newBuilder()
                .setModelId("fashion").setSequence(7).setAction(PromotionAction.REFUSED).setCandidateVersion(5)
                .setPromotedVersion(3).setPromotedSnapshot(ByteBuffer.wrap(snapshot)).setPinned(false).setLatestVersion(5)
                .setHeldBackSince(T0).setCandidatesHeldBack(2).setEvaluation(candidate).setBaseline(baseline)
                .setChecks(List.of(new PolicyCheck(CheckScope.CLASS, "0", 0.4, 0.85, 0.2, false)))
                .setPolicy(Map.of("maxClassDrop", "0.2")).setBestTaskAccuracy(Map.of("t1", 0.9)).setBestClassAccuracy(Map.of("0", 0.85))
                .setRollbackTargets(List.of(new Release(2L, ByteBuffer.wrap(snapshot), T0.minusSeconds(60))))
                .setActor("promoter").setReason("version 5 refused: class 0 40.0% is 45.0 points below its best promoted 85.0% (at most 20.0 points allowed)")
                .setCommandId(null).setTime(T0.plusSeconds(1)).setSignature("ab".repeat(32))
                .build();
    }

    static ModelCommand modelCommand() {
        return ModelCommand.newBuilder()
                .setCommandId("c1").setModelId("fashion").setAction(CommandAction.PIN).setVersion(3L)
                .setOperator("ana").setReason("hold during the audit").setTime(T0)
                .build();
    }

    /** Version 2 of the batch: the version 1 example, its item by reference (no features). */
    static TrainBatch trainBatchV2() {
        TrainBatch b = TrainBatch.newBuilder(trainBatch()).build();
        b.getItems().set(0, TrainItem.newBuilder(b.getItems().get(0)).setFeatures(null).build());
        return b;
    }

    static io.rehearsal.schemas.avro.SampleFeatures sampleFeatures() {
        return io.rehearsal.schemas.avro.SampleFeatures.newBuilder().setSampleId("s1").setModelId("fashion")
                .setSourcePartition(0).setSourceOffset(41).setFeatures(sample().getFeatures()).build();
    }
}
