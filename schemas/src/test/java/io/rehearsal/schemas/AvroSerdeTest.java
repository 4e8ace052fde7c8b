package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.schemas.RecordDecodeException.Reason;
import io.rehearsal.schemas.avro.Sample;
import java.util.Arrays;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {

    @Test
    void shouldRoundTripEveryRecordTypeInSingleObjectEncoding() {
        List<SpecificRecord> records = List.of(Fixtures.sample(), Fixtures.feedback(), Fixtures.trainBatch(),
                Fixtures.modelSnapshot(), Fixtures.snapshotChunk(), Fixtures.prediction(), Fixtures.deadLetter());
        for (SpecificRecord record : records) {
            @SuppressWarnings("unchecked")
            AvroSerde<SpecificRecord> serde = AvroSerde.of((Class<SpecificRecord>) record.getClass());
            byte[] bytes = serde.encode(record);

            assertThat(bytes[0] & 0xff).as("marker byte 1").isEqualTo(0xC3);
            assertThat(bytes[1] & 0xff).as("marker byte 2").isEqualTo(0x01);
            assertThat(serde.decode(bytes)).as(record.getClass().getSimpleName()).isEqualTo(record);
        }
    }

    @Test
    void shouldNameBadMarker() {
        AvroSerde<Sample> serde = AvroSerde.of(Sample.class);
        byte[] bytes = serde.encode(Fixtures.sample());
        bytes[0] = 0x00;

        assertThatThrownBy(() -> serde.decode(bytes))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_MARKER))
                .hasMessageContaining("C3 01");
    }

    @Test
    void shouldNameUnknownFingerprint() {
        AvroSerde<Sample> serde = AvroSerde.of(Sample.class);
        byte[] bytes = serde.encode(Fixtures.sample());
        bytes[5] ^= 0x5A; // inside the 8-byte fingerprint

        assertThatThrownBy(() -> serde.decode(bytes))
                .isInstanceOfSatisfying(RecordDecodeException.class,
                        e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_FINGERPRINT))
                .hasMessageContaining("unknown schema fingerprint");
    }

    @Test
    void shouldNameTruncatedBody() {
        AvroSerde<Sample> serde = AvroSerde.of(Sample.class);
        byte[] full = serde.encode(Fixtures.sample());
        byte[] truncated = Arrays.copyOf(full, 14);

        assertThatThrownBy(() -> serde.decode(truncated))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.MALFORMED_AVRO))
                .hasMessageContaining("corrupt or truncated Sample");
    }

    @Test
    void shouldRefuseEmptyPayload() {
        AvroSerde<Sample> serde = AvroSerde.of(Sample.class);

        assertThatThrownBy(() -> serde.decode(new byte[0]))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.EMPTY));
    }

    @Test
    void shouldFailFastOnAHugeLengthPrefixInsteadOfAllocatingIt() {
        // Given a Sample whose id claims to be 1 GiB long (zig-zag varint of 2^30)
        AvroSerde<Sample> serde = AvroSerde.of(Sample.class);
        byte[] header = Arrays.copyOf(serde.encode(Fixtures.sample()), 10);
        byte[] bytes = Arrays.copyOf(header, 15);
        byte[] length = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08};
        System.arraycopy(length, 0, bytes, 10, 5);

        // Then it is refused as malformed, not an OutOfMemoryError
        assertThatThrownBy(() -> serde.decode(bytes))
                .isInstanceOfSatisfying(RecordDecodeException.class, e -> assertThat(e.reason()).isEqualTo(Reason.MALFORMED_AVRO));
    }
}
