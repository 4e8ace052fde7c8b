package io.rehearsal.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.avro.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DeadLettersTest {
    private static final AvroSerde<DeadLetter> SERDE = AvroSerde.of(DeadLetter.class);

    @Test
    void shouldKeepASmallRecordWhole() {
        byte[] value = "{\"id\": \"s1\"}".getBytes(StandardCharsets.UTF_8);

        DeadLetter d = DeadLetters.of(new DeadLetters.Origin("rehearsal.samples", 2, 7, "s1".getBytes(), value),
                "curator", "MISSING_FIELD", "sample s1 has no features", null, Instant.EPOCH);

        assertThat(d.getPayload().array()).isEqualTo(value);
        assertThat(d.getPayloadSize()).isEqualTo(value.length);
        assertThat(d.getPayloadSha256()).isEqualTo(DeadLetters.sha256(value)).hasSize(64);
        assertThat(d.getTruncated()).isFalse();
        assertThat(d.getSourcePartition()).isEqualTo(2);
        assertThat(d.getSourceOffset()).isEqualTo(7);
    }

    @Test
    void shouldBoundADeadLetterOfARecordAtTheTopicLimit() {
        // Given a value of 8 MiB, a key of 1 MiB and a message quoting a 1 MiB id
        byte[] value = new byte[8 << 20];
        new Random(1).nextBytes(value);
        byte[] key = new byte[1 << 20];
        Arrays.fill(key, (byte) 'k');
        String message = "sample " + "x".repeat(1 << 20) + " is wrong";

        // When the dead letter is built and encoded
        DeadLetter d = DeadLetters.of(new DeadLetters.Origin("rehearsal.samples", 0, 1, key, value),
                "curator", "SAMPLE_TOO_LARGE", message, null, Instant.EPOCH);
        byte[] encoded = SERDE.encode(d);

        // Then it holds a prefix, the whole value's size and hash, and stays far below 1 MiB
        assertThat(d.getTruncated()).isTrue();
        assertThat(d.getPayload().remaining()).isEqualTo(DeadLetters.MAX_PAYLOAD_BYTES);
        assertThat(d.getKey().remaining()).isEqualTo(DeadLetters.MAX_KEY_BYTES);
        assertThat(d.getPayloadSize()).isEqualTo(value.length);
        assertThat(d.getPayloadSha256()).isEqualTo(DeadLetters.sha256(value));
        assertThat(d.getMessage()).hasSizeLessThanOrEqualTo(DeadLetters.MAX_MESSAGE_CHARS).startsWith("sample xxx")
                .endsWith("more characters)");
        assertThat(encoded.length).isLessThan(DeadLetters.MAX_ENCODED_BYTES).isLessThan(1 << 20);
        assertThat(DeadLetters.recordKey(key)).hasSize(DeadLetters.MAX_KEY_BYTES);
    }

    @Test
    void shouldNotSplitASurrogatePairWhenCutting() {
        String s = "a".repeat(99) + "\uD83D\uDE00" + "b".repeat(200);

        for (int max = 110; max < 140; max++) {
            String cut = DeadLetters.cut(s, max);
            String kept = cut.substring(0, cut.indexOf("... ("));

            assertThat(cut).hasSizeLessThanOrEqualTo(max);
            assertThat(Character.isHighSurrogate(kept.charAt(kept.length() - 1))).as("cut at %d", max).isFalse();
        }
    }
}
