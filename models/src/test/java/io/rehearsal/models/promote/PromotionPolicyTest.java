package io.rehearsal.models.promote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.rehearsal.schemas.avro.CheckScope;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.GroupScore;
import io.rehearsal.schemas.avro.PolicyCheck;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PromotionPolicyTest {
    private static final PromotionPolicy POLICY = PromotionPolicy.defaults(); // task 10, class 20, overall 5 points; 20 samples

    /** An evaluation over two tasks of two classes each, 25 samples per class. */
    static Evaluation eval(long version, double c0, double c1, double c2, double c3) {
        double t0 = (c0 + c1) / 2;
        double t1 = (c2 + c3) / 2;
        return Evaluation.newBuilder().setVersion(version).setSamples(100).setEvalOffset(10).setAccuracy((t0 + t1) / 2)
                .setByTask(Map.of("t0", new GroupScore(t0, 50), "t1", new GroupScore(t1, 50)))
                .setByClass(Map.of("0", new GroupScore(c0, 25), "1", new GroupScore(c1, 25),
                        "2", new GroupScore(c2, 25), "3", new GroupScore(c3, 25)))
                .build();
    }

    /** What a promoted version's evaluation teaches of the best accuracies. */
    static BestAccuracy best(Evaluation promoted) {
        return BestAccuracy.none().raisedBy(promoted, 20);
    }

    @Test
    void shouldHoldEachClassToItsBestPromotedAccuracySoThatASlowSlideCannotRatchet() {
        // Given class 1 reached 98% under an earlier promoted version, and each promotion since let it slide a little
        Evaluation promoted = eval(9, 0.95, 0.8, 0.95, 0.95);
        BestAccuracy best = new BestAccuracy(Map.of("t0", 0.96, "t1", 0.95), Map.of("0", 0.95, "1", 0.98, "2", 0.95, "3", 0.95));

        // When a candidate is 8 points below the promoted version on class 1, but 26 below its best
        PromotionPolicy.Verdict v = POLICY.optMaxTaskDrop(1.0).judge(eval(10, 0.96, 0.72, 0.95, 0.95), Optional.of(promoted),
                best.raisedBy(promoted, 20));

        // Then it is refused
        assertThat(v.passed()).isFalse();
        assertThat(v.failed()).singleElement().satisfies(c -> {
            assertThat(c.getScope()).isEqualTo(CheckScope.CLASS);
            assertThat(c.getReference()).isEqualTo(0.98);
        });
    }

    @Test
    void shouldPassTheFirstCandidateWithEnoughHeldOutSamples() {
        PromotionPolicy.Verdict v = POLICY.judge(eval(1, 0.5, 0.5, 0.5, 0.5), Optional.empty(), BestAccuracy.none());

        assertThat(v.passed()).isTrue();
        assertThat(v.reason()).startsWith("version 1 passes: accuracy 50.0% on 100 held-out samples (no promoted version)");
    }

    @Test
    void shouldRefuseACandidateEvaluatedOnTooFewSamples() {
        Evaluation few = Evaluation.newBuilder(eval(1, 1, 1, 1, 1)).setSamples(5).build();

        PromotionPolicy.Verdict v = POLICY.judge(few, Optional.empty(), BestAccuracy.none());

        assertThat(v.passed()).isFalse();
        assertThat(v.reason()).isEqualTo("version 1 refused: only 5 held-out samples, 20 needed to judge (send EVAL samples, "
                + "or lower minSamples)");
    }

    @Test
    void shouldRefuseACandidateWhoseClassDroppedNamingTheClassAndByHowMuch() {
        // Given version 3 promoted, good on every class
        Evaluation promoted = eval(3, 0.9, 0.9, 0.9, 0.9);
        // When a candidate lost 44 points on class 1 (a poisoned burst flipped its labels) and gained on class 0
        Evaluation candidate = eval(5, 0.96, 0.46, 0.9, 0.9);

        PromotionPolicy.Verdict v = POLICY.judge(candidate, Optional.of(promoted), best(promoted));

        // Then it is refused, and the reason names the class, the versions and the drop
        assertThat(v.passed()).isFalse();
        assertThat(v.failed()).extracting(PolicyCheck::getScope, PolicyCheck::getKey)
                .containsExactly(tuple(CheckScope.CLASS, "1"), tuple(CheckScope.TASK, "t0"), tuple(CheckScope.OVERALL, ""));
        assertThat(v.reason()).isEqualTo("version 5 refused: class 1 46.0% is 44.0 points below its best promoted 90.0% (at most "
                + "20.0 points allowed); task t0 71.0% is 19.0 points below its best promoted 90.0% (at most 10.0 points "
                + "allowed); accuracy 80.5% is 9.5 points below version 3's 90.0% (at most 5.0 points allowed)");
    }

    @Test
    void shouldHoldEachTaskToItsBestPromotedAccuracyNotOnlyToThePromotedVersion() {
        // Given task t0 reached 95% under an earlier promoted version, and the promoted one slid to 88% on it
        Evaluation promoted = eval(7, 0.88, 0.88, 0.9, 0.9);
        Evaluation candidate = eval(8, 0.84, 0.84, 0.95, 0.95);
        BestAccuracy best = new BestAccuracy(Map.of("t0", 0.95, "t1", 0.9), Map.of("0", 0.95, "1", 0.95, "2", 0.9, "3", 0.9));

        PromotionPolicy.Verdict v = POLICY.judge(candidate, Optional.of(promoted), best);

        // Then 84% is 11 points below the best 95%: refused, though only 4 points below the promoted version
        assertThat(v.passed()).isFalse();
        assertThat(v.failed()).singleElement().satisfies(c -> {
            assertThat(c.getScope()).isEqualTo(CheckScope.TASK);
            assertThat(c.getKey()).isEqualTo("t0");
            assertThat(c.getReference()).isEqualTo(0.95);
        });
    }

    @Test
    void shouldLetACandidateThatLearnsANewTaskPayForItOnTheOthersButNotOnTheWhole() {
        // Given a class-incremental stream: t0 learned and promoted at 98%, t1's held-out samples just arrived,
        // which the promoted version scores nothing on
        Evaluation promoted = eval(20, 0.98, 0.98, 0.0, 0.0);
        BestAccuracy best = best(promoted);

        // When a candidate has learned t1 to 80% and lost 28 points on t0 (class 0 down to 60%) for it
        PromotionPolicy.Verdict v = POLICY.judge(eval(21, 0.6, 0.8, 0.8, 0.8), Optional.of(promoted), best);

        // Then it passes, saying it is learning t1, and t0 and the classes are not held to their best
        assertThat(v.passed()).as(v.reason()).isTrue();
        assertThat(v.learning()).containsExactly("t1");
        assertThat(v.checks()).extracting(PolicyCheck::getScope).doesNotContain(CheckScope.CLASS);
        assertThat(v.checks()).filteredOn(c -> c.getScope() == CheckScope.TASK).extracting(PolicyCheck::getKey).containsExactly("t1");
        assertThat(v.reason()).startsWith("version 21 passes: it is learning (task t1 80.0%, 80.0 points above its best "
                + "promoted 0.0%), which may cost the other tasks and classes");

        // but a candidate that learns t1 while the whole falls is still refused (OVERALL)
        PromotionPolicy.Verdict worse = POLICY.judge(eval(22, 0.0, 0.0, 0.8, 0.8), Optional.of(promoted), best);
        assertThat(worse.passed()).isFalse();
        assertThat(worse.failed()).extracting(PolicyCheck::getScope).containsExactly(CheckScope.OVERALL);

        // and a candidate that gains less than the task margin is held to every best, as before
        PromotionPolicy.Verdict small = POLICY.judge(eval(23, 0.6, 0.8, 0.05, 0.05), Optional.of(promoted), best);
        assertThat(small.learning()).isEmpty();
        assertThat(small.passed()).isFalse();
    }

    @Test
    void shouldRefuseWhenTheOverallAccuracyFellMoreThanAllowed() {
        PromotionPolicy policy = POLICY.optMaxClassDrop(1.0).optMaxTaskDrop(1.0);
        Evaluation promoted = eval(3, 0.9, 0.9, 0.9, 0.9);
        PromotionPolicy.Verdict v = policy.judge(eval(4, 0.8, 0.8, 0.8, 0.8), Optional.of(promoted), best(promoted));

        assertThat(v.passed()).isFalse();
        assertThat(v.reason()).isEqualTo("version 4 refused: accuracy 80.0% is 10.0 points below version 3's 90.0% (at most "
                + "5.0 points allowed)");
    }

    @Test
    void shouldAdmitADropExactlyAtTheLimit() {
        // 0.9 - 0.2 is 0.7000000000000001 in floating point: a drop of exactly 20 points must still pass
        PromotionPolicy policy = POLICY.optMaxOverallDrop(1.0).optMaxTaskDrop(1.0);
        Evaluation promoted = eval(3, 0.9, 0.9, 0.9, 0.9);
        PromotionPolicy.Verdict v = policy.judge(eval(4, 0.7, 0.9, 0.9, 0.9), Optional.of(promoted), best(promoted));

        assertThat(v.passed()).isTrue();
    }

    @Test
    void shouldNotJudgeATaskOrClassWithTooFewSamples() {
        // class 3 has 25 samples: with minSamples 30 it is not judged, however far it fell
        PromotionPolicy policy = POLICY.optMinSamples(30).optMaxOverallDrop(1.0).optMaxTaskDrop(1.0);
        Evaluation promoted = eval(3, 0.9, 0.9, 0.9, 0.9);
        PromotionPolicy.Verdict v = policy.judge(eval(4, 0.9, 0.9, 0.9, 0.0), Optional.of(promoted),
                BestAccuracy.none().raisedBy(promoted, 20));

        assertThat(v.passed()).isTrue();
        assertThat(v.checks()).noneMatch(c -> c.getScope() == CheckScope.CLASS);
    }

    @Test
    void shouldApplyAnAbsoluteFloorWhenOneIsSet() {
        PromotionPolicy.Verdict v = POLICY.optMinAccuracy(0.6).judge(eval(1, 0.5, 0.5, 0.5, 0.5), Optional.empty(),
                BestAccuracy.none());

        assertThat(v.passed()).isFalse();
        assertThat(v.reason()).isEqualTo("version 1 refused: accuracy 50.0% is below the floor of 60.0%");
    }

    @Test
    void shouldRefuseSettingsThatAreNotFractions() {
        assertThatThrownBy(() -> POLICY.optMaxClassDrop(20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxClassDrop must be a fraction in [0, 1] (0.05 = 5 points), got 20.0");
        assertThatThrownBy(() -> POLICY.optMinSamples(0)).hasMessage("minSamples must be >= 1, got 0");
    }
}
