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
 */
public record ChaosResult(String label, Map<ChaosPlan.Fault, Integer> faults, Map<String, Integer> unplannedExits,
                          List<TrainerKill> kills, LineageCheck.Lineage lineage, double[] accuracyPerTask,
                          double finalAccuracy, double seconds) {

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

    public int faults(ChaosPlan.Fault f) {
        return faults.getOrDefault(f, 0);
    }

    public int trainerKills() {
        return faults(ChaosPlan.Fault.TRAINER_KILL) + faults(ChaosPlan.Fault.TRAINER_KILL_IN_TRANSACTION)
                + faults(ChaosPlan.Fault.TRAINER_KILL_AT_START);
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
