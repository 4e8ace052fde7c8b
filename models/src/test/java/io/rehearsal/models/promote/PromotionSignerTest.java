package io.rehearsal.models.promote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.release.PromotionSigner;
import io.rehearsal.models.release.ReleasedSnapshots;
import io.rehearsal.models.snapshot.SnapshotFormatException;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.Release;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PromotionSignerTest {
    private static final String KEY = "0123456789abcdef0123456789abcdef";
    private static final PromotionSigner SIGNER = new PromotionSigner(KEY);
    private static final AvroSerde<Promotion> SERDE = AvroSerde.of(Promotion.class);

    /** A signed promotion of version 3, with rollback targets, as it goes on the topic (bytes). */
    private static byte[] signed() {
        Promotion p = ReleaseLedgerTest.promoted(3).pin(Optional.empty(), "ana", "audit", "c1", Instant.parse("2026-12-01T00:00:00Z"))
                .record();
        return SERDE.encode(SIGNER.sign(p));
    }

    private static Promotion tampered(Consumer<Promotion> change) {
        Promotion p = SERDE.decode(signed());
        change.accept(p);
        return SERDE.decode(SERDE.encode(p));
    }

    @Test
    void shouldVerifyASignedPromotionReadBackFromItsBytes() {
        Promotion p = SERDE.decode(signed());

        SIGNER.verify(p);
        assertThat(p.getSignature()).hasSize(64);
    }

    @Test
    void shouldRefuseAPromotionWhoseDecisiveFieldsWereTamperedWith() {
        List<Consumer<Promotion>> changes = List.of(
                p -> p.setPromotedVersion(2),
                p -> p.setPinned(false),
                p -> p.setSequence(p.getSequence() + 100),
                p -> p.setActor("mallory"),
                p -> p.setReason("nothing to see"),
                p -> p.setPromotedSnapshot(ReleasedSnapshots.encode(ReleaseLedgerTest.snapshot(2))),
                p -> p.setRollbackTargets(List.of(new Release(1L, ReleasedSnapshots.encode(ReleaseLedgerTest.snapshot(9)),
                        Instant.EPOCH))));
        for (Consumer<Promotion> change : changes) {
            Promotion p = tampered(change);
            assertThatThrownBy(() -> SIGNER.verify(p)).isInstanceOf(SnapshotFormatException.class)
                    .hasMessage("promotion 4 of model m has a signature that does not match its contents: it was altered or "
                            .replace("promotion 4", "promotion " + p.getSequence()) + "signed with another key; ignoring it")
                    .extracting(e -> ((SnapshotFormatException) e).reason()).isEqualTo(SnapshotFormatException.Reason.BAD_SIGNATURE);
        }
    }

    @Test
    void shouldRefuseAnUnsignedPromotionAndOneSignedWithAnotherKey() {
        Promotion unsigned = tampered(p -> p.setSignature(null));
        assertThatThrownBy(() -> SIGNER.verify(unsigned)).extracting(e -> ((SnapshotFormatException) e).reason())
                .isEqualTo(SnapshotFormatException.Reason.UNSIGNED);

        Promotion other = new PromotionSigner("another key of sixteen bytes or more").sign(SERDE.decode(signed()));
        assertThatThrownBy(() -> SIGNER.verify(other)).extracting(e -> ((SnapshotFormatException) e).reason())
                .isEqualTo(SnapshotFormatException.Reason.BAD_SIGNATURE);
    }

    @Test
    void shouldNotCoverTheDescriptiveEvaluation() {
        // the evaluation and policy describe; what is served is what the signature binds (as with a snapshot's metrics)
        Promotion p = tampered(x -> x.setPolicy(java.util.Map.of("note", "changed")));

        SIGNER.verify(p);
    }
}
