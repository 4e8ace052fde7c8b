package io.rehearsal.bench.chaos;

import java.util.List;
import java.util.Map;

/**
 * What one run did and what the topics show afterwards.
 *
 * @param label            "chaos" or "clean"
 * @param faults           faults carried out, by kind (see {@link ChaosPlan.Fault})
 * @param unplannedExits   component exits nobody asked for (each restarted), by component
 * @param kills            every trainer kill: how and what it cost
 * @param lineage          the checks on the topics and their figures
 * @param accuracyPerTask  the last snapshot's accuracy on each task's held-out test images
 * @param finalAccuracy    their mean
 * @param seconds          wall time of the run, from the first record produced to the pipeline caught up
 * @param topology         the brokers, curator scale-outs and standby of the run
 * @param brokerRestarts   each broker restart: the node, what it led or coordinated, how long it was down
 * @param curatorScales    each curator scale event and the longest gap between committed batches after it
 * @param failoverMillis   with a standby trainer: each takeover's time from the kill to the first snapshot committed
 *                         after it
 */
public record ChaosResult(String label, Map<ChaosPlan.Fault, Integer> faults, Map<String, Integer> unplannedExits,
                          List<TrainerKill> kills, LineageCheck.Lineage lineage, double[] accuracyPerTask,
                          double finalAccuracy, double seconds, ChaosSettings.Topology topology,
                          List<BrokerRestart> brokerRestarts, List<CuratorScale> curatorScales,
                          List<Long> failoverMillis) {

    /**
     * One SIGKILL of the trainer.
     *
     * @param fault         how it struck
     * @param incarnation   which trainer process (1 = the first)
     * @param uptimeMillis  how long that process had been running
     * @param resumedStep   the step it had resumed from (the latest committed snapshot when it started)
     * @param stepsTaken    steps it took before the kill (from its metrics just before; -1 if it never answered)
     * @param committedStep the step of the snapshot its successor resumed from (what survived the kill)
     */
    public record TrainerKill(ChaosPlan.Fault fault, int incarnation, long uptimeMillis, long resumedStep, long stepsTaken,
                              long committedStep) {
        /** Steps this kill threw away (trained, not committed): the successor trains them again. */
        public long retrained() {
            return stepsTaken < 0 ? 0 : Math.max(0, resumedStep + stepsTaken - committedStep);
        }
    }

    /** One broker restart: which node, what it led or coordinated when it stopped, how long it was down. */
    public record BrokerRestart(int node, String role, double downSeconds) {
    }

    /**
     * One curator scale event and the longest gap between two committed batches in the 60 s after it (the
     * pause a rebalance caused, or the usual gap when it caused none).
     */
    public record CuratorScale(ChaosPlan.Fault fault, double atProgress, double longestGapSeconds) {
    }

    public int faults(ChaosPlan.Fault f) {
        return faults.getOrDefault(f, 0);
    }

    public int trainerKills() {
        return faults(ChaosPlan.Fault.TRAINER_KILL) + faults(ChaosPlan.Fault.TRAINER_KILL_IN_TRANSACTION)
                + faults(ChaosPlan.Fault.TRAINER_KILL_AT_START);
    }

    /** The median and the longest standby takeover, in ms ({-1, -1} without one). */
    public long[] failoverP50Max() {
        List<Long> sorted = failoverMillis.stream().sorted().toList();
        return sorted.isEmpty() ? new long[] {-1, -1} : new long[] {sorted.get((sorted.size() - 1) / 2), sorted.get(sorted.size() - 1)};
    }

    public long retrainedSteps() {
        return kills.stream().mapToLong(TrainerKill::retrained).sum();
    }

    public long maxRetrainedSteps() {
        return kills.stream().mapToLong(TrainerKill::retrained).max().orElse(0);
    }

    public int unplannedExitCount() {
        return unplannedExits.values().stream().mapToInt(Integer::intValue).sum();
    }
}
