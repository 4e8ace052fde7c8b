package io.rehearsal.bench.chaos;

import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads what a run left on the topics and checks the end-to-end guarantees from the records alone:
 *
 * <ol>
 *   <li><b>versions</b>: the committed snapshots of the model are versions 1, 2, ..., n in topic order,
 *       each one's parent the one before;</li>
 *   <li><b>forward only</b>: the batch and sample offsets a snapshot covers never move back;</li>
 *   <li><b>lineage exact</b>: between two consecutive versions the step counter grew by exactly the number
 *       of TRAIN batches between the batch offsets they cover, so within the lineage no batch was trained
 *       twice and none was skipped;</li>
 *   <li><b>end of topic</b>: the last snapshot covers every committed batch;</li>
 *   <li><b>every sample</b>: every trainable TRAIN sample (labeled, or an unlabeled request that LABEL
 *       feedback labeled) was trained FRESH exactly once in a covered batch, and the last snapshot's
 *       {@code sampleOffsets} reach its offset;</li>
 *   <li><b>no dead letters</b> on a clean stream.</li>
 * </ol>
 */
public final class LineageCheck {
    /** One verdict. */
    public record Check(String name, boolean passed, String detail) {
    }

    /** What the topics hold. */
    public record Lineage(List<Check> checks, int versions, long finalStep, long trainBatches, long evalBatches,
                   long abortedSnapshots, long abortedChunkTransactions, long abortedBatchRecords, long deadLetters,
                   long trainableSamples, List<String> batchSignatures, ModelSnapshot last) {
        public boolean passed() {
            return checks.stream().allMatch(Check::passed);
        }
    }

    private LineageCheck() {
    }

    /**
     * @param expectedTrainable how many trainable samples the stream sent (the samples topic must still hold
     *                          them all: a record lost to retention would otherwise go unnoticed)
     */
    static Lineage read(Map<String, Object> clientProperties, Topics topics, String modelId, long expectedTrainable) {
        List<Check> checks = new ArrayList<>();

        // the committed snapshots, in topic order, and what aborted transactions left behind
        List<ModelSnapshot> snapshots = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicScan.read(clientProperties, topics.modelUpdates().name(), true)) {
            if (r.value() != null && modelId.equals(key(r))) {
                snapshots.add(topics.modelUpdates().deserializeValue(r.value()));
            }
        }
        long allSnapshotRecords = TopicScan.read(clientProperties, topics.modelUpdates().name(), false).stream()
                .filter(r -> r.value() != null && modelId.equals(key(r))).count();
        Set<Long> committedChunks = new HashSet<>();
        TopicScan.read(clientProperties, topics.modelChunks().name(), true).forEach(r -> committedChunks.add(r.offset()));
        Set<String> abortedChunkVersions = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicScan.read(clientProperties, topics.modelChunks().name(), false)) {
            if (!committedChunks.contains(r.offset()) && r.value() != null) {
                String k = key(r);
                abortedChunkVersions.add(k.substring(0, k.lastIndexOf('/')));
            }
        }

        // the committed batches of the model
        List<ConsumerRecord<byte[], byte[]>> batchRecords = TopicScan.read(clientProperties, topics.trainBatches().name(), true);
        long allBatchRecords = TopicScan.read(clientProperties, topics.trainBatches().name(), false).size();
        TreeMap<Long, TrainBatch> batches = new TreeMap<>();
        for (ConsumerRecord<byte[], byte[]> r : batchRecords) {
            if (modelId.equals(key(r)) && r.value() != null) {
                batches.put(r.offset(), topics.trainBatches().deserializeValue(r.value()));
            }
        }
        long lastBatchOffset = batchRecords.isEmpty() ? -1 : batchRecords.get(batchRecords.size() - 1).offset();

        checks.add(versions(snapshots));
        checks.add(forward(snapshots));
        checks.add(exact(snapshots, batches, topics));
        ModelSnapshot last = snapshots.isEmpty() ? null : snapshots.get(snapshots.size() - 1);
        long covered = last == null ? 0 : batchOffset(last, topics);
        checks.add(new Check("end of topic", covered > lastBatchOffset, String.format(
                "the last snapshot covers batch offsets below %d; the last committed batch record is at %d", covered, lastBatchOffset)));

        // every trainable sample trained FRESH once, and covered by the provenance
        Map<String, long[]> trainable = trainable(clientProperties, topics);
        Map<String, Integer> fresh = new HashMap<>();
        long trainCount = 0;
        long evalCount = 0;
        List<String> signatures = new ArrayList<>();
        for (Map.Entry<Long, TrainBatch> e : batches.entrySet()) {
            TrainBatch b = e.getValue();
            signatures.add(signature(b));
            if (b.getKind() == BatchKind.EVAL) {
                evalCount++;
                continue;
            }
            trainCount++;
            if (e.getKey() >= covered) {
                continue;
            }
            for (TrainItem item : b.getItems()) {
                if (item.getRole() == ItemRole.FRESH) {
                    fresh.merge(item.getSampleId(), 1, Integer::sum);
                }
            }
        }
        List<String> missing = new ArrayList<>();
        List<String> twice = new ArrayList<>();
        List<String> uncovered = new ArrayList<>();
        Map<Integer, Long> sampleOffsets = new HashMap<>();
        if (last != null) {
            for (TopicPartitionOffset o : last.getProvenance().getSampleOffsets()) {
                sampleOffsets.merge(o.getPartition(), o.getOffset(), Math::max);
            }
        }
        for (Map.Entry<String, long[]> t : trainable.entrySet()) {
            int n = fresh.getOrDefault(t.getKey(), 0);
            if (n == 0) {
                missing.add(t.getKey());
            } else if (n > 1) {
                twice.add(t.getKey() + " x" + n);
            }
            if (sampleOffsets.getOrDefault((int) t.getValue()[0], -1L) < t.getValue()[1]) {
                uncovered.add(t.getKey() + "@" + t.getValue()[0] + ":" + t.getValue()[1]);
            }
        }
        Set<String> extra = new HashSet<>(fresh.keySet());
        extra.removeAll(trainable.keySet());
        checks.add(new Check("every sample trained once", trainable.size() == expectedTrainable && missing.isEmpty()
                && twice.isEmpty() && extra.isEmpty(),
                String.format("%d trainable samples on the topic (%d sent); %d trained FRESH exactly once; missing %d %s; more than once %d %s; "
                                + "unexpected %d %s", trainable.size(), expectedTrainable, trainable.size() - missing.size() - twice.size(),
                        missing.size(), head(missing), twice.size(), head(twice), extra.size(), head(new ArrayList<>(extra)))));
        checks.add(new Check("provenance covers every sample", uncovered.isEmpty(), String.format(
                "the last snapshot's sampleOffsets %s reach every trainable sample's offset; %d do not %s",
                sampleOffsets, uncovered.size(), head(uncovered))));

        checks.add(curatorConsumedAll(clientProperties, topics));
        long deadLetters = TopicScan.read(clientProperties, topics.deadLetters().name(), true).size();
        checks.add(new Check("no dead letters", deadLetters == 0, deadLetters + " dead letters (the stream is well-formed)"));

        return new Lineage(List.copyOf(checks), snapshots.size(), last == null ? 0 : last.getStep(), trainCount, evalCount,
                allSnapshotRecords - snapshots.size(), abortedChunkVersions.size(), allBatchRecords - batchRecords.size(),
                deadLetters, trainable.size(), List.copyOf(signatures), last);
    }

    private static Check versions(List<ModelSnapshot> snapshots) {
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < snapshots.size(); i++) {
            ModelSnapshot s = snapshots.get(i);
            Long parent = i == 0 ? null : (long) i;
            if (s.getVersion() != i + 1 || !Objects.equals(s.getParentVersion(), parent)) {
                problems.add(String.format("#%d is version %d with parent %s", i + 1, s.getVersion(), s.getParentVersion()));
            }
        }
        return new Check("versions 1..n, each the parent of the next", !snapshots.isEmpty() && problems.isEmpty(),
                snapshots.size() + " committed versions" + (problems.isEmpty() ? "" : "; " + head(problems)));
    }

    private static Check forward(List<ModelSnapshot> snapshots) {
        List<String> problems = new ArrayList<>();
        for (int i = 1; i < snapshots.size(); i++) {
            ModelSnapshot a = snapshots.get(i - 1);
            ModelSnapshot b = snapshots.get(i);
            if (b.getStep() < a.getStep()) {
                problems.add("v" + b.getVersion() + " step " + b.getStep() + " < " + a.getStep());
            }
            Map<String, Long> before = offsets(a.getProvenance().getBatchOffsets());
            offsets(b.getProvenance().getBatchOffsets()).forEach((tp, o) -> {
                if (o < before.getOrDefault(tp, 0L)) {
                    problems.add("v" + b.getVersion() + " batch offset " + tp + " " + o + " < " + before.get(tp));
                }
            });
            Map<String, Long> samplesBefore = offsets(a.getProvenance().getSampleOffsets());
            offsets(b.getProvenance().getSampleOffsets()).forEach((tp, o) -> {
                if (o < samplesBefore.getOrDefault(tp, -1L)) {
                    problems.add("v" + b.getVersion() + " sample offset " + tp + " " + o + " < " + samplesBefore.get(tp));
                }
            });
        }
        return new Check("offsets and steps only move forward", problems.isEmpty(),
                problems.isEmpty() ? "batch offsets, sample offsets and steps are non-decreasing" : head(problems));
    }

    private static Check exact(List<ModelSnapshot> snapshots, TreeMap<Long, TrainBatch> batches, Topics topics) {
        List<String> problems = new ArrayList<>();
        long fromOffset = 0;
        long fromStep = 0;
        for (ModelSnapshot s : snapshots) {
            long to = batchOffset(s, topics);
            long trained = batches.subMap(fromOffset, to).values().stream().filter(b -> b.getKind() == BatchKind.TRAIN).count();
            if (s.getStep() - fromStep != trained) {
                problems.add(String.format("v%d: step %d -> %d (+%d) but %d TRAIN batches in offsets [%d, %d)",
                        s.getVersion(), fromStep, s.getStep(), s.getStep() - fromStep, trained, fromOffset, to));
            }
            fromOffset = to;
            fromStep = s.getStep();
        }
        return new Check("each batch trained exactly once in the lineage", problems.isEmpty(), problems.isEmpty()
                ? "every version's step increase equals the TRAIN batches between its parent's offsets and its own"
                : problems.size() + " versions disagree: " + head(problems));
    }

    /** The curator's group has committed the end of both inputs. */
    private static Check curatorConsumedAll(Map<String, Object> clientProperties, Topics topics) {
        List<TopicPartition> inputs = List.of(new TopicPartition(topics.samples().name(), 0),
                new TopicPartition(topics.feedback().name(), 0));
        try (Admin admin = Admin.create(clientProperties)) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(topics.prefix() + "-curator")
                    .partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            inputs.forEach(tp -> latest.put(tp, OffsetSpec.latest()));
            Map<TopicPartition, Long> ends = new TreeMap<>(java.util.Comparator.comparing(TopicPartition::toString));
            admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
            List<String> behind = new ArrayList<>();
            for (TopicPartition tp : inputs) {
                long c = committed.get(tp) == null ? 0 : committed.get(tp).offset();
                if (c < ends.get(tp)) {
                    behind.add(tp + " at " + c + " of " + ends.get(tp));
                }
            }
            return new Check("curator consumed every input", behind.isEmpty(),
                    behind.isEmpty() ? "committed up to the end of " + ends : String.join(", ", behind));
        } catch (java.util.concurrent.ExecutionException e) {
            return new Check("curator consumed every input", false, "cannot read the curator's offsets: " + e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Check("curator consumed every input", false, "interrupted");
        }
    }

    /** sample id -> {partition, offset} of every sample that should be trained. */
    private static Map<String, long[]> trainable(Map<String, Object> clientProperties, Topics topics) {
        InputSerde<Sample> samples = InputSerde.samples();
        InputSerde<Feedback> feedback = InputSerde.feedback();
        Set<String> labeledLater = new HashSet<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicScan.read(clientProperties, topics.feedback().name(), true)) {
            try {
                Feedback f = feedback.decode(r.value());
                if (f.getKind() == FeedbackKind.LABEL) {
                    labeledLater.add(f.getSampleId());
                }
            } catch (RecordDecodeException e) {
                // not well-formed: not feedback the curator applies
            }
        }
        Map<String, long[]> out = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : TopicScan.read(clientProperties, topics.samples().name(), true)) {
            try {
                Sample s = samples.decode(r.value());
                if (s.getSplit() == Split.TRAIN && (s.getLabel() != null || labeledLater.contains(s.getId()))) {
                    out.putIfAbsent(s.getId(), new long[] {r.partition(), r.offset()});
                }
            } catch (RecordDecodeException e) {
                // not well-formed: not a sample
            }
        }
        return out;
    }

    /** What identifies a batch's content, without wall-clock fields. */
    private static String signature(TrainBatch b) {
        StringBuilder sb = new StringBuilder().append(b.getKind()).append(' ').append(b.getSequence()).append(':');
        for (TrainItem i : b.getItems()) {
            sb.append(' ').append(i.getSampleId()).append('/').append(i.getLabel()).append('/').append(i.getRole().name().charAt(0))
                    .append(i.getRecallCount());
        }
        return sb.toString();
    }

    private static long batchOffset(ModelSnapshot s, Topics topics) {
        for (TopicPartitionOffset o : s.getProvenance().getBatchOffsets()) {
            if (o.getTopic().equals(topics.trainBatches().name()) && o.getPartition() == 0) {
                return o.getOffset();
            }
        }
        return 0;
    }

    private static Map<String, Long> offsets(List<TopicPartitionOffset> list) {
        Map<String, Long> out = new HashMap<>();
        list.forEach(o -> out.put(o.getTopic() + "-" + o.getPartition(), o.getOffset()));
        return out;
    }

    private static String key(ConsumerRecord<byte[], byte[]> r) {
        return r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
    }

    private static String head(List<String> items) {
        return items.isEmpty() ? "" : items.subList(0, Math.min(5, items.size())) + (items.size() > 5 ? "..." : "");
    }
}
