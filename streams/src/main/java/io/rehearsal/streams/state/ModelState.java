package io.rehearsal.streams.state;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collections;
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
    private long step;
    /** Batches emitted of any kind: the next batch's {@code sequence}. */
    private long sequence;
    private long evalRound;
    private long nextArrivalSeq;
    /** Unused since the short-term order is an in-memory index; kept so the store format stays 1. */
    private long shortTermHead;
    private long nextFreshSeq;
    private int shortTermSize;
    private int freshCount;
    /** Wall-clock time the oldest waiting fresh sample arrived; -1 when none waits. */
    private long freshSinceWall = -1;
    /** Wall-clock time of the last batch; -1 before the first. */
    private long lastBatchWall = -1;
    private int lastShortClass = -1;
    private int lastLongClass = -1;
    /** Classes of the labeled samples this shard has seen for the model. */
    private final SortedSet<Integer> classesSeen = new TreeSet<>();
    /** Long-term buffer: slots held per class. */
    private final SortedMap<Integer, Integer> occupancy = new TreeMap<>();
    /** Long-term buffer: offers per class (reservoir counts); its key set is the quota's class set. */
    private final SortedMap<Integer, Long> offers = new TreeMap<>();
    private final SortedMap<Integer, Integer> evalOccupancy = new TreeMap<>();
    private final SortedMap<Integer, Long> evalSeen = new TreeMap<>();

    public ModelState(String modelId) {
        this.modelId = modelId;
    }

    /** Store key of a model's state. */
    public static String key(String modelId) {
        return "m:" + modelId;
    }

    // ---- the schedule's clock and batch numbering ----

    /** TRAIN batches emitted: the step the next TRAIN batch is. */
    public long step() {
        return step;
    }

    /** A TRAIN batch was emitted at wall-clock time {@code wallNow}: the schedule's clock moves on. */
    public void stepped(long wallNow) {
        step++;
        lastBatchWall = wallNow;
    }

    /** The sequence number of the last batch emitted (of any kind); -1 before the first. */
    public long lastSequence() {
        return sequence - 1;
    }

    /** The sequence number of the next batch (of any kind), taken. */
    public long takeSequence() {
        return sequence++;
    }

    /** The number of the next eval round, taken. */
    public long takeEvalRound() {
        return evalRound++;
    }

    /** Wall-clock time of the last batch; -1 before the first. */
    public long lastBatchWall() {
        return lastBatchWall;
    }

    /** The class the short-term round-robin served last; -1 before the first. */
    public int lastShortClass() {
        return lastShortClass;
    }

    /** The class the long-term round-robin served last; -1 before the first. */
    public int lastLongClass() {
        return lastLongClass;
    }

    /** Where the two round-robins stopped in the last batch: the next batch starts after them. */
    public void rotated(int shortClass, int longClass) {
        lastShortClass = shortClass;
        lastLongClass = longClass;
    }

    // ---- the short-term store and the fresh queue ----

    /** A sample entered the short-term store; returns its arrival sequence. */
    public long arrived() {
        shortTermSize++;
        return nextArrivalSeq++;
    }

    /** A sample left the short-term store. */
    public void leftShortTerm() {
        shortTermSize--;
    }

    public int shortTermSize() {
        return shortTermSize;
    }

    /** A labeled sample of class {@code label} joined the fresh queue; returns its fresh sequence. */
    public long queuedFresh(int label) {
        classesSeen.add(label);
        freshCount++;
        return nextFreshSeq++;
    }

    /** {@code n} fresh samples left the queue (taken into a batch, or rejected). */
    public void freshLeft(int n) {
        freshCount -= n;
        if (freshCount == 0) {
            freshSinceWall = -1;
        }
    }

    /** Fresh samples waiting for a batch. */
    public int freshCount() {
        return freshCount;
    }

    /** Notes that fresh samples wait since {@code wallNow}, unless they already did. */
    public void freshWaiting(long wallNow) {
        if (freshCount > 0 && freshSinceWall < 0) {
            freshSinceWall = wallNow;
        }
    }

    /** Wall-clock time the oldest waiting fresh sample arrived; -1 when none waits. */
    public long freshSinceWall() {
        return freshSinceWall;
    }

    /** A sample of class {@code label} was seen (a label correction can show a class first). */
    public void classSeen(int label) {
        classesSeen.add(label);
    }

    /** How many distinct classes of labeled samples this shard has seen for the model. */
    public int classesSeen() {
        return classesSeen.size();
    }

    // ---- the long-term buffer ----

    /** Slots the long-term buffer holds for a class. */
    public int occupancy(int cls) {
        return occupancy.getOrDefault(cls, 0);
    }

    /** Slots per class, for reports and tests (a copy). */
    public SortedMap<Integer, Integer> occupancyByClass() {
        return Collections.unmodifiableSortedMap(new TreeMap<>(occupancy));
    }

    /** The classes holding long-term slots, ascending. */
    public SortedSet<Integer> occupiedClasses() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(occupancy.keySet()));
    }

    /** The long-term buffer now holds {@code slots} slots of {@code cls}. */
    public void occupy(int cls, int slots) {
        if (slots == 0) {
            occupancy.remove(cls);
        } else {
            occupancy.put(cls, slots);
        }
    }

    /** The classes offered to the long-term buffer so far: the set its quotas divide the capacity by. */
    public SortedSet<Integer> offeredClasses() {
        return Collections.unmodifiableSortedSet(new TreeSet<>(offers.keySet()));
    }

    /** Offers of a class so far (0 if none). */
    public long offers(int cls) {
        return offers.getOrDefault(cls, 0L);
    }

    /** Whether the class has been offered to the long-term buffer (its quota counts it). */
    public boolean hasOffers(int cls) {
        return offers.containsKey(cls);
    }

    /** A new class takes part in the quotas, with no offer yet. */
    public void classAdded(int cls) {
        offers.putIfAbsent(cls, 0L);
    }

    /** One more offer of a class; returns the offers so far (the reservoir's n). */
    public long offered(int cls) {
        return offers.merge(cls, 1L, Long::sum);
    }

    // ---- the eval set ----

    /** One more held-out sample of a class seen; returns how many so far (the eval reservoir's n). */
    public long evalSeen(int cls) {
        return evalSeen.merge(cls, 1L, Long::sum);
    }

    /** Held-out samples kept for a class. */
    public int evalOccupancy(int cls) {
        return evalOccupancy.getOrDefault(cls, 0);
    }

    /** The eval set now keeps {@code held} samples of {@code cls}. */
    public void evalHeld(int cls, int held) {
        evalOccupancy.put(cls, held);
    }

    public int longTermSize() {
        return occupancy.values().stream().mapToInt(Integer::intValue).sum();
    }

    public int evalSize() {
        return evalOccupancy.values().stream().mapToInt(Integer::intValue).sum();
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
