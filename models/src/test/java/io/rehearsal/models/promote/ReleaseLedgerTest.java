package io.rehearsal.models.promote;

import static io.rehearsal.models.promote.PromotionPolicyTest.eval;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.models.promote.ReleaseLedger.Released;
import io.rehearsal.models.promote.ReleaseLedger.Step;
import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.schemas.avro.ChunkRef;
import io.rehearsal.schemas.avro.Evaluation;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.ModelSpec;
import io.rehearsal.schemas.avro.ParameterBlob;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ReleaseLedgerTest {
    private static final Instant T0 = Instant.parse("2026-12-01T00:00:00Z");
    private static final PromotionPolicy POLICY = PromotionPolicy.defaults();

    /** A released snapshot of {@code version}: weights in 2 chunks on the releases topic. */
    static ModelSnapshot snapshot(long version) {
        ParameterBlob p = new ParameterBlob("npz", 10L, "ab".repeat(32), null,
                List.of(new ChunkRef("rehearsal.model-releases", 0, 2 * version, 5, "cd".repeat(32)),
                        new ChunkRef("rehearsal.model-releases", 0, 2 * version + 1, 5, "ef".repeat(32))));
        Provenance provenance = Provenance.newBuilder().setSettings(Map.of()).setSeed(1).setBatchOffsets(List.of())
                .setSampleOffsets(List.of()).setBufferSize(0).setProjectVersion("t").setGitSha("t").setJavaVersion("17")
                .setDjlVersion("t").setEngineVersion("t").setDevice("cpu()").setHost("h").build();
        return ModelSnapshot.newBuilder().setModelId("m").setVersion(version).setParentVersion(null).setStep(version * 10)
                .setCreatedTime(T0).setFormatVersion(1).setSpec(new ModelSpec("mlp", List.of(4), 4, Map.of()))
                .setParameters(p).setSignature(null)
                .setMetrics(SnapshotMetrics.newBuilder().setSamplesSeen(1).setLoss(0).setCrossEntropy(0).setConsistency(0).build())
                .setProvenance(provenance).build();
    }

    static Released released(long version) {
        return new Released(version, snapshot(version), T0);
    }

    /** Promotes candidates 1..n in turn, each as good as the last. */
    static ReleaseLedger promoted(int n) {
        ReleaseLedger l = ReleaseLedger.fresh("m", POLICY, 2, 1 << 20);
        for (long v = 1; v <= n; v++) {
            Evaluation e = eval(v, 0.9, 0.9, 0.9, 0.9);
            Optional<Evaluation> base = l.promoted().map(p -> eval(p.version(), 0.9, 0.9, 0.9, 0.9));
            l = l.decide(e, base, l.assess(e, base), Optional.of(released(v)), T0.plusSeconds(v)).next();
        }
        return l;
    }

    @Test
    void shouldPromoteAPassingCandidateAndKeepTheVersionsBeforeForARollback() {
        // Given versions 1, 2 and 3 promoted in turn, keeping 2 rollback targets
        ReleaseLedger l = promoted(3);

        // Then 3 is served, 2 and 1 are the targets, newest first, and the records count up
        assertThat(l.promotedVersion()).isEqualTo(3);
        assertThat(l.sequence()).isEqualTo(3);
        assertThat(l.rollbackTargets()).extracting(Released::version).containsExactly(2L, 1L);
        assertThat(l.best().byTask()).containsEntry("t0", 0.9);
        assertThat(l.best().byClass()).containsEntry("1", 0.9);

        // When 4 is promoted, version 1 is let go (its released chunks can be tombstoned)
        Evaluation e = eval(4, 0.92, 0.92, 0.92, 0.92);
        Step step = l.decide(e, Optional.of(eval(3, 0.9, 0.9, 0.9, 0.9)), l.assess(e, Optional.of(eval(3, 0.9, 0.9, 0.9, 0.9))),
                Optional.of(released(4)), T0.plusSeconds(10));
        assertThat(step.record().getAction()).isEqualTo(PromotionAction.PROMOTED);
        assertThat(step.dropped()).extracting(Released::version).containsExactly(1L);
        assertThat(step.next().rollbackTargets()).extracting(Released::version).containsExactly(3L, 2L);
        assertThat(step.next().best().byTask()).containsEntry("t0", 0.92);
    }

    @Test
    void shouldStartTheBestAccuraciesAgainFromACandidateThatLearnedANewTask() {
        // Given t0 learned and promoted at 98%; t1 not yet learned
        ReleaseLedger l = ReleaseLedger.fresh("m", POLICY, 2, 1 << 20);
        Evaluation first = eval(1, 0.98, 0.98, 0.0, 0.0);
        l = l.decide(first, Optional.empty(), l.assess(first, Optional.empty()), Optional.of(released(1)), T0).next();

        // When a candidate learns t1 at t0's expense, it is promoted and the best accuracies are its own
        Optional<Evaluation> base = Optional.of(eval(1, 0.98, 0.98, 0.0, 0.0));
        Evaluation learner = eval(2, 0.6, 0.8, 0.8, 0.8);
        Step step = l.decide(learner, base, l.assess(learner, base), Optional.of(released(2)), T0.plusSeconds(1));
        assertThat(step.record().getAction()).isEqualTo(PromotionAction.PROMOTED);
        assertThat(step.next().best().byTask()).containsEntry("t1", 0.8);
        assertThat(step.next().best().byClass()).containsEntry("0", 0.6).containsEntry("1", 0.8);

        // Then the next candidate is held to them: one that loses class 1 again is refused
        l = step.next();
        Optional<Evaluation> base2 = Optional.of(eval(2, 0.6, 0.8, 0.8, 0.8));
        Evaluation poisoned = eval(3, 0.6, 0.3, 0.8, 0.8);
        Step refused = l.decide(poisoned, base2, l.assess(poisoned, base2), Optional.of(released(3)), T0.plusSeconds(2));
        assertThat(refused.record().getAction()).isEqualTo(PromotionAction.REFUSED);
        assertThat(refused.record().getReason()).contains("class 1 30.0% is 50.0 points below its best promoted 80.0%");
    }

    @Test
    void shouldRefuseAFailingCandidateAndSayHowLongPromotionIsHeldBack() {
        ReleaseLedger l = promoted(2);
        Optional<Evaluation> base = Optional.of(eval(2, 0.9, 0.9, 0.9, 0.9));

        // When two candidates in a row lost class 1
        Evaluation bad = eval(3, 0.9, 0.3, 0.9, 0.9);
        Step first = l.decide(bad, base, l.assess(bad, base), Optional.empty(), T0.plusSeconds(100));
        Evaluation worse = eval(4, 0.9, 0.2, 0.9, 0.9);
        Step second = first.next().decide(worse, base, first.next().assess(worse, base), Optional.empty(), T0.plusSeconds(130));

        // Then both are refused, version 2 stays, and the hold dates from the first refusal
        assertThat(second.record().getAction()).isEqualTo(PromotionAction.REFUSED);
        assertThat(second.record().getPromotedVersion()).isEqualTo(2);
        assertThat(second.record().getLatestVersion()).isEqualTo(4);
        assertThat(second.record().getHeldBackSince()).isEqualTo(T0.plusSeconds(100));
        assertThat(second.record().getCandidatesHeldBack()).isEqualTo(2);
        assertThat(second.record().getReason()).startsWith("version 4 refused: class 1 20.0% is 70.0 points below its best promoted 90.0%");

        // When a good candidate follows, it is promoted and the hold ends
        Evaluation good = eval(5, 0.9, 0.9, 0.9, 0.9);
        Step third = second.next().decide(good, base, second.next().assess(good, base), Optional.of(released(5)), T0.plusSeconds(160));
        assertThat(third.record().getAction()).isEqualTo(PromotionAction.PROMOTED);
        assertThat(third.record().getHeldBackSince()).isNull();
        assertThat(third.record().getCandidatesHeldBack()).isZero();
    }

    @Test
    void shouldHoldAPassingCandidateWhilePinnedAndPromoteAgainOnceUnpinned() {
        ReleaseLedger l = promoted(2).pin(Optional.empty(), "ana", "audit", "c1", T0.plusSeconds(50)).next();
        assertThat(l.pinned()).isTrue();
        Optional<Evaluation> base = Optional.of(eval(2, 0.9, 0.9, 0.9, 0.9));

        Evaluation good = eval(3, 0.95, 0.95, 0.95, 0.95);
        Step held = l.decide(good, base, l.assess(good, base), Optional.empty(), T0.plusSeconds(60));
        assertThat(held.record().getAction()).isEqualTo(PromotionAction.HELD);
        assertThat(held.record().getPromotedVersion()).isEqualTo(2);
        assertThat(held.record().getReason()).endsWith("not promoted: version 2 is pinned (unpin it to let candidates through)");

        Step unpinned = held.next().unpin("ana", "audit done", "c2", T0.plusSeconds(70));
        assertThat(unpinned.record().getAction()).isEqualTo(PromotionAction.UNPINNED);
        assertThat(unpinned.record().getActor()).isEqualTo("ana");
        assertThat(unpinned.record().getCommandId()).isEqualTo("c2");
        ReleaseLedger after = unpinned.next();
        Step promoted = after.decide(good, base, after.assess(good, base), Optional.of(released(3)), T0.plusSeconds(80));
        assertThat(promoted.record().getAction()).isEqualTo(PromotionAction.PROMOTED);
    }

    @Test
    void shouldPinANamedVersionByPromotingItFirst() {
        Step step = promoted(2).pin(Optional.of(released(7)), "ana", "known good", "c1", T0.plusSeconds(50));

        assertThat(step.record().getAction()).isEqualTo(PromotionAction.PINNED);
        assertThat(step.record().getPromotedVersion()).isEqualTo(7);
        assertThat(step.record().getPinned()).isTrue();
        assertThat(step.next().rollbackTargets()).extracting(Released::version).containsExactly(2L, 1L);
    }

    @Test
    void shouldRollBackToThePreviousVersionPinnedAndLetTheNewerOnesGo() {
        ReleaseLedger l = promoted(3);

        Step step = l.rollback(Optional.empty(), "ana", "bad answers on class 3", "c1", T0.plusSeconds(50));

        assertThat(step.record().getAction()).isEqualTo(PromotionAction.ROLLED_BACK);
        assertThat(step.record().getPromotedVersion()).isEqualTo(2);
        assertThat(step.record().getPinned()).isTrue();
        assertThat(step.record().getReason()).isEqualTo("bad answers on class 3 (pinned at version 2; unpin to let the policy "
                + "promote again)");
        assertThat(ReleasedSnapshots.promoted(step.record()).orElseThrow().getVersion()).isEqualTo(2);
        assertThat(step.dropped()).extracting(Released::version).containsExactly(3L);
        assertThat(step.next().rollbackTargets()).extracting(Released::version).containsExactly(1L);
    }

    @Test
    void shouldRollBackToANamedTargetAndRejectOneThatIsNot() {
        ReleaseLedger l = promoted(3);

        Step to1 = l.rollback(Optional.of(1L), "ana", "back to the first", "c1", T0);
        assertThat(to1.record().getPromotedVersion()).isEqualTo(1);
        assertThat(to1.dropped()).extracting(Released::version).containsExactly(3L, 2L);

        Step to9 = l.rollback(Optional.of(9L), "ana", "?", "c2", T0);
        assertThat(to9.record().getAction()).isEqualTo(PromotionAction.REJECTED);
        assertThat(to9.record().getReason()).isEqualTo("version 9 is not a rollback target; the targets are [2, 1]");
        assertThat(to9.record().getPromotedVersion()).isEqualTo(3);
        assertThat(to9.next().sequence()).isEqualTo(l.sequence() + 1);
    }

    @Test
    void shouldPromoteByHandWhateverThePolicySaysAndStartTheBestTaskAccuraciesAgain() {
        ReleaseLedger l = promoted(2);

        Step step = l.promoteByHand(released(5), "ana", "new task accepted", "c1", T0.plusSeconds(50));

        assertThat(step.record().getAction()).isEqualTo(PromotionAction.PROMOTED_BY_HAND);
        assertThat(step.record().getActor()).isEqualTo("ana");
        assertThat(step.next().promotedVersion()).isEqualTo(5);
        assertThat(step.next().best()).isEqualTo(BestAccuracy.none());
    }

    @Test
    void shouldRestoreItsStateFromItsNewestRecord() {
        ReleaseLedger l = promoted(3).pin(Optional.empty(), "ana", "hold", "c1", T0).next();
        Step last = l.decide(eval(4, 0.9, 0.9, 0.9, 0.9), Optional.of(eval(3, 0.9, 0.9, 0.9, 0.9)),
                l.assess(eval(4, 0.9, 0.9, 0.9, 0.9), Optional.of(eval(3, 0.9, 0.9, 0.9, 0.9))), Optional.empty(), T0);

        ReleaseLedger restored = ReleaseLedger.restore(last.record(), POLICY, 2, 1 << 20);

        assertThat(restored.sequence()).isEqualTo(5);
        assertThat(restored.promotedVersion()).isEqualTo(3);
        assertThat(restored.pinned()).isTrue();
        assertThat(restored.latestVersion()).isEqualTo(4);
        assertThat(restored.lastJudged()).isEqualTo(4);
        assertThat(restored.heldBackSince()).contains(T0);
        assertThat(restored.best()).isEqualTo(last.next().best());
        assertThat(restored.rollbackTargets()).extracting(Released::version).containsExactly(2L, 1L);
        assertThat(restored.promoted().orElseThrow().snapshot()).isEqualTo(snapshot(3));
    }

    @Test
    void shouldLetRollbackTargetsGoWhileTheRecordWouldNotFitTheTopic() {
        Promotion pinned = promoted(3).pin(Optional.empty(), "a", "b", "c", T0).record();

        // the same state with a topic that takes 1 byte: the rollback targets are let go, oldest first; the state stays
        Step tight = ReleaseLedger.restore(pinned, POLICY, 2, 1).unpin("a", "b", "c", T0);

        assertThat(tight.record().getRollbackTargets()).isEmpty();
        assertThat(tight.dropped()).extracting(Released::version).containsExactly(1L, 2L);
        assertThat(tight.record().getPromotedVersion()).isEqualTo(3);
    }
}
