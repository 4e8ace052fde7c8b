package io.rehearsal.cli.report;

import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the learning report keeps of one snapshot: its identity and the metrics it carried (not its weights, nor
 * the held-out results behind its accuracies), so that a long history fits in memory.
 *
 * @param evalStep        the step of the evaluation behind {@code evalByTask}; the snapshot's step for snapshots
 *                        written before schema version 3, which do not say
 * @param freshByTask     fresh items per task since the previous snapshot (empty before schema version 3)
 * @param newestEventTime the newest event time among them, or null
 */
public record SnapshotPoint(long version, long step, Instant created, long samplesSeen, Double evalAccuracy, long evalStep,
                            Map<String, Double> evalByTask, Map<String, Long> freshByTask, Instant newestEventTime) {

    public static SnapshotPoint of(ModelSnapshot s) {
        SnapshotMetrics m = s.getMetrics();
        return new SnapshotPoint(s.getVersion(), s.getStep(), s.getCreatedTime(), m.getSamplesSeen(), m.getEvalAccuracy(),
                m.getEvalStep() != null ? m.getEvalStep() : s.getStep(), new TreeMap<>(m.getEvalAccuracyByTask()),
                new TreeMap<>(m.getFreshByTask()), m.getNewestEventTime());
    }

    /** The task most of its fresh items belonged to (ties: the first by name), or null if it learned none. */
    public String learning() {
        return freshByTask.entrySet().stream().max(Map.Entry.<String, Long>comparingByValue()
                .thenComparing(Map.Entry.comparingByKey(java.util.Comparator.reverseOrder()))).map(Map.Entry::getKey).orElse(null);
    }

    /** From producing its newest fresh sample to its publication, or null if unknown. */
    public java.time.Duration freshness() {
        return newestEventTime == null ? null : java.time.Duration.between(newestEventTime, created);
    }
}
