package io.rehearsal.streams.state;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Bytes;

/**
 * Binary store keys that sort the way the curator scans them. A model id is written with a two-byte
 * length first, so no model's keys are a prefix of another's; numbers are big-endian and never
 * negative, so byte order is numeric order. A schedule key is {@code model | tier | due | sampleId}:
 * a range scan up to {@code due = now} returns exactly the entries that are due, most overdue first.
 */
public final class Keys {
    private Keys() {
    }

    /** Key of a sample entry, a pending feedback or a rejection: the sample id. */
    public static Bytes sample(String sampleId) {
        return Bytes.wrap(sampleId.getBytes(StandardCharsets.UTF_8));
    }

    public static String sampleId(Bytes key) {
        return new String(key.get(), StandardCharsets.UTF_8);
    }

    /** {@code model} : the prefix of every per-model key. */
    public static Bytes model(String modelId) {
        return Bytes.wrap(modelBuffer(modelId, 0).array());
    }

    /** {@code model | seq}: short-term arrival order and fresh queue. */
    public static Bytes sequence(String modelId, long seq) {
        return Bytes.wrap(modelBuffer(modelId, 8).putLong(seq).array());
    }

    /** The sequence number at the end of a {@link #sequence} key. */
    public static long sequenceOf(Bytes key) {
        byte[] k = key.get();
        return ByteBuffer.wrap(k, k.length - 8, 8).getLong();
    }

    /** {@code model | class}: prefix of one class's slots. */
    public static Bytes classPrefix(String modelId, int cls) {
        return Bytes.wrap(modelBuffer(modelId, 4).putInt(cls).array());
    }

    /** {@code model | class | slot}: long-term buffer and eval set slots. */
    public static Bytes slot(String modelId, int cls, int slot) {
        return Bytes.wrap(modelBuffer(modelId, 8).putInt(cls).putInt(slot).array());
    }

    /** {@code model | tier}: prefix of one tier's schedule. */
    public static Bytes tierPrefix(String modelId, byte tier) {
        return Bytes.wrap(modelBuffer(modelId, 1).put(tier).array());
    }

    /** {@code model | tier | due}: the first key due at {@code due} (no sample id has an empty key). */
    public static Bytes dueBound(String modelId, byte tier, long due) {
        return Bytes.wrap(modelBuffer(modelId, 9).put(tier).putLong(due).array());
    }

    /** {@code model | tier | due | sampleId}: one schedule entry. */
    public static Bytes schedule(String modelId, byte tier, long due, String sampleId) {
        byte[] id = sampleId.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(modelBuffer(modelId, 9 + id.length).put(tier).putLong(due).put(id).array());
    }

    /** The due step of a {@link #schedule} key. */
    public static long dueOf(Bytes key, String modelId) {
        return ByteBuffer.wrap(key.get(), modelLength(modelId) + 1, 8).getLong();
    }

    /** The sample id of a {@link #schedule} key. */
    public static String scheduledSample(Bytes key, String modelId) {
        int offset = modelLength(modelId) + 9;
        byte[] k = key.get();
        return new String(k, offset, k.length - offset, StandardCharsets.UTF_8);
    }

    /** {@code expireAt | kind | sampleId}: the expiry index, scanned up to the current stream time. */
    public static Bytes expiry(long expireAt, byte kind, String sampleId) {
        byte[] id = sampleId.getBytes(StandardCharsets.UTF_8);
        return Bytes.wrap(ByteBuffer.allocate(9 + id.length).putLong(Math.max(0, expireAt)).put(kind).put(id).array());
    }

    /** The first expiry key after every entry expiring at or before {@code time}. */
    public static Bytes expiryBound(long time) {
        return Bytes.wrap(ByteBuffer.allocate(8).putLong(Math.max(0, time) + 1).array());
    }

    public static byte expiryKind(Bytes key) {
        return key.get()[8];
    }

    public static String expirySample(Bytes key) {
        byte[] k = key.get();
        return new String(k, 9, k.length - 9, StandardCharsets.UTF_8);
    }

    /** The exclusive upper end of a prefix scan: the prefix with its last byte increased. */
    public static Bytes prefixEnd(Bytes prefix) {
        return Bytes.increment(prefix);
    }

    private static int modelLength(String modelId) {
        return 2 + modelId.getBytes(StandardCharsets.UTF_8).length;
    }

    private static ByteBuffer modelBuffer(String modelId, int extra) {
        byte[] m = modelId.getBytes(StandardCharsets.UTF_8);
        if (m.length > 0xFFFF) {
            throw new IllegalArgumentException("model id longer than 65535 bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(2 + m.length + extra);
        b.putShort((short) m.length).put(m);
        return b;
    }
}
