package io.rehearsal.streams.state;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The counters of one model on one shard (in the {@code curator-state} store, key {@code m:<model>}):
 * the step and sequence counters, queue and store sizes, per-class occupancy and offer counts of the
 * long-term buffer and of the eval set, and the round-robin positions. Small: a few numbers per class.
 */
public final class ModelState {
    private static final byte FORMAT = 1;

    public final String modelId;
    /** TRAIN batches emitted: the schedule's clock. The next TRAIN batch is step {@code step}. */
    public long step;
    /** Batches emitted of any kind: the next batch's {@code sequence}. */
    public long sequence;
    public long evalRound;
    public long nextArrivalSeq;
    /** Unused since the short-term order is an in-memory index; kept so the store format stays 1. */
    public long shortTermHead;
    public long nextFreshSeq;
    public int shortTermSize;
    public int freshCount;
    /** Wall-clock time the oldest waiting fresh sample arrived; -1 when none waits. */
    public long freshSinceWall = -1;
    /** Wall-clock time of the last batch; -1 before the first. */
    public long lastBatchWall = -1;
    public int lastShortClass = -1;
    public int lastLongClass = -1;
    /** Classes of the labeled samples this shard has seen for the model. */
    public final SortedSet<Integer> classesSeen = new TreeSet<>();
    /** Long-term buffer: slots held per class. */
    public final SortedMap<Integer, Integer> occupancy = new TreeMap<>();
    /** Long-term buffer: offers per class (reservoir counts); its key set is the quota's class set. */
    public final SortedMap<Integer, Long> offers = new TreeMap<>();
    public final SortedMap<Integer, Integer> evalOccupancy = new TreeMap<>();
    public final SortedMap<Integer, Long> evalSeen = new TreeMap<>();

    public ModelState(String modelId) {
        this.modelId = modelId;
    }

    /** Store key of a model's state. */
    public static String key(String modelId) {
        return "m:" + modelId;
    }

    public int longTermSize() {
        return occupancy.values().stream().mapToInt(Integer::intValue).sum();
    }

    public int evalSize() {
        return evalOccupancy.values().stream().mapToInt(Integer::intValue).sum();
    }

    public int occupancy(int cls) {
        return occupancy.getOrDefault(cls, 0);
    }

    public byte[] encode() {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeByte(FORMAT);
            out.writeLong(step);
            out.writeLong(sequence);
            out.writeLong(evalRound);
            out.writeLong(nextArrivalSeq);
            out.writeLong(shortTermHead);
            out.writeLong(nextFreshSeq);
            out.writeInt(shortTermSize);
            out.writeInt(freshCount);
            out.writeLong(freshSinceWall);
            out.writeLong(lastBatchWall);
            out.writeInt(lastShortClass);
            out.writeInt(lastLongClass);
            out.writeInt(classesSeen.size());
            for (int c : classesSeen) {
                out.writeInt(c);
            }
            writeInts(out, occupancy);
            writeLongs(out, offers);
            writeInts(out, evalOccupancy);
            writeLongs(out, evalSeen);
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ModelState decode(String modelId, byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            int format = in.readByte();
            if (format != FORMAT) {
                throw new IllegalStateException("model state of " + modelId + " has store format " + format
                        + " but this curator reads format " + FORMAT);
            }
            ModelState m = new ModelState(modelId);
            m.step = in.readLong();
            m.sequence = in.readLong();
            m.evalRound = in.readLong();
            m.nextArrivalSeq = in.readLong();
            m.shortTermHead = in.readLong();
            m.nextFreshSeq = in.readLong();
            m.shortTermSize = in.readInt();
            m.freshCount = in.readInt();
            m.freshSinceWall = in.readLong();
            m.lastBatchWall = in.readLong();
            m.lastShortClass = in.readInt();
            m.lastLongClass = in.readInt();
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                m.classesSeen.add(in.readInt());
            }
            readInts(in, m.occupancy);
            readLongs(in, m.offers);
            readInts(in, m.evalOccupancy);
            readLongs(in, m.evalSeen);
            return m;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the state of model " + modelId, e);
        }
    }

    private static void writeInts(DataOutputStream out, SortedMap<Integer, Integer> map) throws IOException {
        out.writeInt(map.size());
        for (var e : map.entrySet()) {
            out.writeInt(e.getKey());
            out.writeInt(e.getValue());
        }
    }

    private static void writeLongs(DataOutputStream out, SortedMap<Integer, Long> map) throws IOException {
        out.writeInt(map.size());
        for (var e : map.entrySet()) {
            out.writeInt(e.getKey());
            out.writeLong(e.getValue());
        }
    }

    private static void readInts(DataInputStream in, SortedMap<Integer, Integer> map) throws IOException {
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            map.put(in.readInt(), in.readInt());
        }
    }

    private static void readLongs(DataInputStream in, SortedMap<Integer, Long> map) throws IOException {
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            map.put(in.readInt(), in.readLong());
        }
    }
}
