package io.rehearsal.bench.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.bench.chaos.ChaosPlan.Fault;
import io.rehearsal.bench.chaos.ChaosPlan.Step;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Where the faults of a chaos run strike: all of them, spread over the run, the same for the same seed. */
class ChaosPlanTest {
    private final ChaosSettings settings = ChaosSettings.demo(1, 0, 20, 5, 1, Path.of("chaos"));

    @Test
    void shouldPlanEveryFaultSpreadOverTheRun() {
        ChaosPlan plan = ChaosPlan.draw(settings, new Random(1));

        assertThat(plan.steps()).hasSize(26);
        assertThat(plan.steps()).filteredOn(s -> s.fault().trainer()).hasSize(20);
        assertThat(plan.steps()).filteredOn(s -> s.fault() == Fault.CURATOR_KILL).hasSize(5);
        assertThat(plan.steps()).filteredOn(s -> s.fault() == Fault.BROKER_RESTART).hasSize(1);
        assertThat(plan.steps()).allSatisfy(s -> assertThat(s.mark()).isBetween(0.0, 0.95));
        assertThat(plan.steps()).extracting(Step::mark).isSorted();
        // every way of striking the trainer is used
        assertThat(plan.steps()).extracting(Step::fault).contains(Fault.TRAINER_KILL, Fault.TRAINER_KILL_IN_TRANSACTION,
                Fault.TRAINER_KILL_AT_START);
    }

    @Test
    void shouldStrikeTheReplacementOfTheLastVictimAtItsStart() {
        List<Step> steps = ChaosPlan.draw(settings, new Random(1)).steps().stream().filter(s -> s.fault().trainer()).toList();
        for (int i = 1; i < steps.size(); i++) {
            if (steps.get(i).fault() == Fault.TRAINER_KILL_AT_START) {
                assertThat(steps.get(i).mark()).as("a kill at start follows another kill at once").isEqualTo(steps.get(i - 1).mark());
            }
        }
    }

    @Test
    void shouldDrawTheSamePlanFromTheSameSeed() {
        assertThat(ChaosPlan.draw(settings, new Random(7))).isEqualTo(ChaosPlan.draw(settings, new Random(7)));
        assertThat(ChaosPlan.draw(settings.clean(), new Random(7)).steps()).isEmpty();
    }
}
