package io.rehearsal.bench.chaos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Where the faults of a run strike, drawn from the chaos seed: each fault waits until the progress of
 * the component it watches reaches its mark (a fraction of the expected work), so the faults spread over
 * the whole run whatever the machine's speed.
 *
 * <p>Trainer kills cycle through three ways of striking: {@link Fault#TRAINER_KILL} at a random moment
 * while it trains, {@link Fault#TRAINER_KILL_IN_TRANSACTION} as soon as a snapshot transaction is seen
 * open (its first chunk is on the topic, uncommitted), and {@link Fault#TRAINER_KILL_AT_START} during the
 * start of the incarnation that replaced the one just killed (JVM and libtorch loading, fencing, restore).
 */
public record ChaosPlan(List<Step> steps) {
    /** A kind of fault. */
    public enum Fault {
        TRAINER_KILL, TRAINER_KILL_IN_TRANSACTION, TRAINER_KILL_AT_START, CURATOR_KILL, BROKER_RESTART,
        /** Two more curator instances join (1 -> 3), mid-stream. */
        CURATOR_SCALE_OUT,
        /** The two extra curator instances stop gracefully (3 -> 1). */
        CURATOR_SCALE_IN;

        /** Faults whose mark is the curator's progress through its input. */
        public boolean curator() {
            return this == CURATOR_KILL || this == CURATOR_SCALE_OUT || this == CURATOR_SCALE_IN;
        }

        public boolean trainer() {
            return this == TRAINER_KILL || this == TRAINER_KILL_IN_TRANSACTION || this == TRAINER_KILL_AT_START;
        }
    }

    /**
     * One fault.
     *
     * @param fault what
     * @param mark  the progress (0..1) at which it strikes: of the curator's input for curator kills, of the
     *              trainer's committed steps for the others
     */
    public record Step(Fault fault, double mark) {
    }

    static ChaosPlan draw(ChaosSettings s, Random random) {
        List<Step> steps = new ArrayList<>();
        Fault[] cycle = {Fault.TRAINER_KILL, Fault.TRAINER_KILL_IN_TRANSACTION, Fault.TRAINER_KILL_AT_START,
                Fault.TRAINER_KILL_IN_TRANSACTION};
        double previous = 0;
        for (int i = 0; i < s.trainerKills(); i++) {
            Fault f = cycle[i % cycle.length];
            // a kill at start strikes the incarnation that replaced the previous victim: same mark
            double mark = f == Fault.TRAINER_KILL_AT_START && i > 0 ? previous
                    : 0.03 + 0.90 * (i + 0.2 + 0.6 * random.nextDouble()) / s.trainerKills();
            steps.add(new Step(f, mark));
            previous = mark;
        }
        for (int i = 0; i < s.curatorKills(); i++) {
            steps.add(new Step(Fault.CURATOR_KILL, 0.05 + 0.85 * (i + 0.2 + 0.6 * random.nextDouble()) / s.curatorKills()));
        }
        int scales = s.topology().curatorScaleOuts();
        for (int i = 0; i < scales; i++) {
            // out in the first part of the curator's input, back in before its end: each step while it has input
            double out = 0.05 + 0.8 * (i + 0.1 + 0.3 * random.nextDouble()) / scales;
            steps.add(new Step(Fault.CURATOR_SCALE_OUT, out));
            steps.add(new Step(Fault.CURATOR_SCALE_IN, out + 0.8 * (0.2 + 0.2 * random.nextDouble()) / scales));
        }
        for (int i = 0; i < s.brokerRestarts(); i++) {
            steps.add(new Step(Fault.BROKER_RESTART, 0.3 + 0.4 * (i + random.nextDouble()) / s.brokerRestarts()));
        }
        // a stable order: by mark, trainer kills at one mark in the order drawn
        List<Step> ordered = new ArrayList<>(steps);
        ordered.sort(Comparator.comparingDouble(Step::mark));
        return new ChaosPlan(List.copyOf(ordered));
    }
}
