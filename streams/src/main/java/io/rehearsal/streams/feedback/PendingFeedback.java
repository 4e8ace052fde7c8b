package io.rehearsal.streams.feedback;

import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.state.Keys;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Feedback that arrived before its sample (store {@code curator-pending-feedback}, key sample id). At
 * most one record waits per sample: a newer one replaces it by {@link FeedbackRules}. Each waits until
 * its sample arrives or until its expiry (stream time, {@code curator-expiry} index), whichever comes
 * first; the number waiting is bounded. The original record (coordinates and bytes) is kept so an
 * expired one can go to the dead-letter topic exactly as it came in.
 */
public final class PendingFeedback {
    /** Expiry index kind of a pending feedback. */
    public static final byte EXPIRY_KIND = 'P';
    private static final InputSerde<Feedback> SERDE = InputSerde.feedback();

    private final KeyValueStore<Bytes, byte[]> store;
    private final KeyValueStore<Bytes, byte[]> expiry;

    public PendingFeedback(KeyValueStore<Bytes, byte[]> store, KeyValueStore<Bytes, byte[]> expiry) {
        this.store = store;
        this.expiry = expiry;
    }

    /** A waiting feedback: where it came from, its bytes, and when it expires. */
    public record Waiting(Source source, long expireAt) {
        public Feedback feedback() {
            return SERDE.decode(source.payload());
        }
    }

    /** What {@link #park} did. */
    public enum Parked {
        /** It waits now (alone, or in place of an older one, which is returned as superseded). */
        WAITING,
        /** An already waiting feedback wins over it. */
        SUPERSEDED,
        /** Nothing waited for the sample and the store is full. */
        FULL
    }

    /** The outcome of {@link #park}; {@code replaced} is the feedback it displaced, if any. */
    public record ParkResult(Parked parked, Waiting replaced) {
    }

    /**
     * Lets feedback wait for its sample.
     *
     * @param waitingCount how many wait now (the caller keeps the count)
     * @param capacity     the most that may wait
     */
    public ParkResult park(Feedback f, Source source, long expireAt, int waitingCount, int capacity) {
        Waiting existing = get(f.getSampleId());
        if (existing != null) {
            Feedback old = existing.feedback();
            if (!FeedbackRules.supersedes(f.getEventTime().toEpochMilli(), f.getTrust(),
                    old.getEventTime().toEpochMilli(), old.getTrust())) {
                return new ParkResult(Parked.SUPERSEDED, null);
            }
            // the newer one takes the older one's place and keeps its expiry: waiting stays bounded
            store.put(Keys.sample(f.getSampleId()), encode(new Waiting(source, existing.expireAt())));
            return new ParkResult(Parked.WAITING, existing);
        }
        if (waitingCount >= capacity) {
            return new ParkResult(Parked.FULL, null);
        }
        store.put(Keys.sample(f.getSampleId()), encode(new Waiting(source, expireAt)));
        expiry.put(Keys.expiry(expireAt, EXPIRY_KIND, f.getSampleId()), new byte[0]);
        return new ParkResult(Parked.WAITING, null);
    }

    public Waiting get(String sampleId) {
        byte[] bytes = store.get(Keys.sample(sampleId));
        return bytes == null ? null : decode(bytes);
    }

    /** Removes and returns the feedback waiting for a sample, if any. */
    public Waiting take(String sampleId) {
        Waiting w = get(sampleId);
        if (w != null) {
            store.delete(Keys.sample(sampleId));
            expiry.delete(Keys.expiry(w.expireAt(), EXPIRY_KIND, sampleId));
        }
        return w;
    }

    /** Sample ids whose waiting feedback expired at or before {@code now}; call {@link #take} on each. */
    public static List<String> expired(KeyValueStore<Bytes, byte[]> expiry, long now, byte kind) {
        List<String> ids = new ArrayList<>();
        try (KeyValueIterator<Bytes, byte[]> it = expiry.range(Bytes.wrap(new byte[8]), Keys.expiryBound(now))) {
            while (it.hasNext()) {
                Bytes key = it.next().key;
                if (Keys.expiryKind(key) == kind) {
                    ids.add(Keys.expirySample(key));
                }
            }
        }
        return ids;
    }

    private static byte[] encode(Waiting w) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            Source s = w.source();
            out.writeLong(w.expireAt());
            out.writeUTF(s.topic());
            out.writeInt(s.partition());
            out.writeLong(s.offset());
            out.writeLong(s.timestamp());
            writeBytes(out, s.key());
            writeBytes(out, s.payload());
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Waiting decode(byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            long expireAt = in.readLong();
            String topic = in.readUTF();
            int partition = in.readInt();
            long offset = in.readLong();
            long timestamp = in.readLong();
            byte[] key = readBytes(in);
            byte[] payload = readBytes(in);
            return new Waiting(new Source(topic, partition, offset, key, payload, timestamp), expireAt);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
        out.writeInt(b == null ? -1 : b.length);
        if (b != null) {
            out.write(b);
        }
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}
