package io.rehearsal.schemas;

import io.rehearsal.schemas.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The one way every component builds a {@link DeadLetter}: bounded by construction, so a dead letter
 * can never be the record that is too large to write. Whatever the size of the rejected record (up to
 * its topic's limit), the dead letter holds at most {@value #MAX_PAYLOAD_BYTES} bytes of its value,
 * {@value #MAX_KEY_BYTES} bytes of its key and {@value #MAX_MESSAGE_CHARS} characters of message, plus
 * the value's size and SHA-256 and its source coordinates, where the original stays readable. The
 * encoded value is therefore under {@value #MAX_ENCODED_BYTES} bytes: far below Kafka's default 1 MiB.
 *
 * <pre>{@code
 * DeadLetter d = DeadLetters.of(new DeadLetters.Origin(topic, partition, offset, key, value),
 *         "trainer", "NON_FINITE_LOSS", "loss is not finite at step 12 ...", null, Instant.now());
 * producer.send(new ProducerRecord<>(topics.deadLetters().name(), DeadLetters.recordKey(key), serde.encode(d)));
 * }</pre>
 */
public final class DeadLetters {
    /** At most this much of the rejected value is kept. */
    public static final int MAX_PAYLOAD_BYTES = 64 << 10;
    /** At most this much of the rejected key is kept, in the dead letter and as its record key. */
    public static final int MAX_KEY_BYTES = 1 << 10;
    /** Messages (which quote ids and values from the record) are cut to this many characters. */
    public static final int MAX_MESSAGE_CHARS = 4 << 10;
    /** Topic names and reasons are short by nature; these bound them anyway. */
    private static final int MAX_NAME_CHARS = 256;
    /** An upper bound of an encoded dead letter (payload, key, message in UTF-8 and the rest). */
    public static final int MAX_ENCODED_BYTES = MAX_PAYLOAD_BYTES + 2 * MAX_KEY_BYTES + 4 * MAX_MESSAGE_CHARS
            + 4 * 4 * MAX_NAME_CHARS + 1024;

    private DeadLetters() {
    }

    /**
     * Where a rejected record came from, and its bytes as read.
     *
     * @param topic     source topic
     * @param partition source partition
     * @param offset    offset in that partition (-1 when it never reached a topic, e.g. an HTTP request)
     * @param key       the record's key bytes, may be null
     * @param value     the record's value bytes, may be null
     */
    public record Origin(String topic, int partition, long offset, byte[] key, byte[] value) {
        public Origin {
            Objects.requireNonNull(topic, "topic");
        }
    }

    /**
     * A bounded dead letter for the record at {@code origin}.
     *
     * @param component  who refused it: curator, trainer, predictor, ...
     * @param reason     the stable machine-readable reason, e.g. SHAPE_MISMATCH
     * @param message    what was wrong and what to do (cut to {@value #MAX_MESSAGE_CHARS} characters)
     * @param errorClass the exception behind it, if any
     */
    public static DeadLetter of(Origin origin, String component, String reason, String message, String errorClass,
                                Instant time) {
        byte[] key = origin.key();
        byte[] value = origin.value();
        boolean truncated = (key != null && key.length > MAX_KEY_BYTES) || (value != null && value.length > MAX_PAYLOAD_BYTES);
        return DeadLetter.newBuilder()
                .setSourceTopic(cut(origin.topic(), MAX_NAME_CHARS))
                .setSourcePartition(origin.partition())
                .setSourceOffset(origin.offset())
                .setKey(key == null ? null : ByteBuffer.wrap(prefix(key, MAX_KEY_BYTES)))
                .setPayload(value == null ? null : ByteBuffer.wrap(prefix(value, MAX_PAYLOAD_BYTES)))
                .setReason(cut(Objects.requireNonNull(reason, "reason"), MAX_NAME_CHARS))
                .setMessage(cut(message == null ? "" : message, MAX_MESSAGE_CHARS))
                .setErrorClass(errorClass == null ? null : cut(errorClass, MAX_NAME_CHARS))
                .setComponent(cut(Objects.requireNonNull(component, "component"), MAX_NAME_CHARS))
                .setTime(time)
                .setPayloadSize(value == null ? null : (long) value.length)
                .setPayloadSha256(value == null ? null : sha256(value))
                .setTruncated(truncated)
                .build();
    }

    /** The record key of a dead letter: the original key, at most its first {@value #MAX_KEY_BYTES} bytes. */
    public static byte[] recordKey(byte[] originalKey) {
        return originalKey == null ? null : prefix(originalKey, MAX_KEY_BYTES);
    }

    /** {@code s} cut to {@code max} characters, saying how much was cut. */
    public static String cut(String s, int max) {
        if (s.length() <= max) {
            return s;
        }
        String tail = "... (" + (s.length() - max) + " more characters)";
        int keep = Math.max(0, max - tail.length());
        // never split a surrogate pair
        if (keep > 0 && Character.isHighSurrogate(s.charAt(keep - 1))) {
            keep--;
        }
        return s.substring(0, keep) + tail;
    }

    /** Lowercase hex SHA-256 of {@code bytes}. */
    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    private static byte[] prefix(byte[] b, int max) {
        return b.length <= max ? b : Arrays.copyOf(b, max);
    }
}
