package io.rehearsal.streams.buffer;

import io.rehearsal.schemas.avro.DType;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.Sample;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A sample the curator holds (in the {@code curator-samples} store, key: sample id), with everything
 * the schedule and the buffers need: its label, shape, where it lives (fresh queue, short-term
 * store, long-term buffer), its recall count and last visit, and the schedule entry it has.
 *
 * <p>Read by anyone, changed only by the buffer package ({@link SampleMemory} and the stores it keeps),
 * through methods that say what happened: it was admitted, queued, visited, corrected, confirmed,
 * placed in or left a tier, scheduled. {@link SampleEntries} hands out copies, so a change that is not
 * written back is lost. Stored with a versioned binary codec ({@link #encode}/{@link #decode}); the
 * features are not held here: the curator writes them once to the features topic when it admits the sample.
 */
public final class SampleEntry {
    private static final byte FORMAT_1 = 1;
    private static final byte FORMAT = 2;
    /** No label: an unlabeled request. */
    public static final int NO_LABEL = -1;
    /** No feedback applied yet. */
    public static final long NO_FEEDBACK = Long.MIN_VALUE;
    /** The schedule tier byte of an entry that is not scheduled. */
    public static final byte UNSCHEDULED = 0;

    private String id;
    private String modelId;
    private int label = NO_LABEL;
    private int labelVersion;
    private DType dtype;
    private List<Integer> shape;
    private String task;
    private long eventTime;
    /** Kafka record timestamp of the sample: its age in the short-term store is counted from here. */
    private long recordTime;
    private int sourcePartition;
    private long sourceOffset;
    /** Key of its place in the short-term arrival order; -1 when not in the short-term store. */
    private long arrivalSeq = -1;
    /** Key of its place in the fresh queue; -1 once trained (or for a request). */
    private long freshSeq = -1;
    private boolean inShortTerm;
    private boolean inLongTerm;
    /** Whether it has been offered to the long-term buffer (at most once, unless corrected). */
    private boolean offered;
    /** A LABEL correction was applied and the corrected sample has not been recalled yet. */
    private boolean correctionPending;
    /** Retention priority: one per CONFIRM. */
    private int priority;
    private int recallCount;
    /** Step of the last visit (fresh or recall); -1 if never trained. */
    private long lastVisit = -1;
    /** The tier code of its schedule entry, or {@link #UNSCHEDULED}. */
    private byte tier = UNSCHEDULED;
    private long due;
    /** Its long-term slot (class and index) while {@link #inLongTerm}. */
    private int slotClass;
    private int slot;
    /** Event time and trust of the last applied feedback, for conflict resolution. */
    private long feedbackTime = NO_FEEDBACK;
    private float feedbackTrust;

    private SampleEntry() {
    }

    /** A new entry from a decoded sample read at {@code partition}/{@code offset}. */
    public static SampleEntry of(Sample s, int partition, long offset, long recordTime) {
        SampleEntry e = new SampleEntry();
        e.id = s.getId();
        e.modelId = s.getModelId();
        e.label = s.getLabel() == null ? NO_LABEL : s.getLabel();
        Features f = s.getFeatures();
        e.dtype = f.getDtype();
        e.shape = List.copyOf(f.getShape());
        e.task = s.getTask();
        e.eventTime = s.getEventTime().toEpochMilli();
        e.recordTime = recordTime;
        e.sourcePartition = partition;
        e.sourceOffset = offset;
        return e;
    }

    // ---- what it is ----

    public String id() {
        return id;
    }

    public String modelId() {
        return modelId;
    }

    /** The class id, or {@link #NO_LABEL} for an unlabeled request. */
    public int label() {
        return label;
    }

    /** 0 for the producer's label; +1 for each LABEL correction. */
    public int labelVersion() {
        return labelVersion;
    }

    public String task() {
        return task;
    }

    public long eventTime() {
        return eventTime;
    }

    /** Kafka record timestamp of the sample: its age in the short-term store is counted from here. */
    public long recordTime() {
        return recordTime;
    }

    public int sourcePartition() {
        return sourcePartition;
    }

    public long sourceOffset() {
        return sourceOffset;
    }

    // ---- where it lives ----

    /** Key of its place in the short-term arrival order; -1 when not in the short-term store. */
    public long arrivalSeq() {
        return arrivalSeq;
    }

    /** Key of its place in the fresh queue; -1 once trained (or for a request). */
    public long freshSeq() {
        return freshSeq;
    }

    public boolean inShortTerm() {
        return inShortTerm;
    }

    public boolean inLongTerm() {
        return inLongTerm;
    }

    /** Whether it has been offered to the long-term buffer (at most once, unless corrected). */
    public boolean offered() {
        return offered;
    }

    /** A LABEL correction was applied and the corrected sample has not been recalled yet. */
    public boolean correctionPending() {
        return correctionPending;
    }

    /** Retention priority: one per CONFIRM. */
    public int priority() {
        return priority;
    }

    public int recallCount() {
        return recallCount;
    }

    /** Step of the last visit (fresh or recall); -1 if never trained. */
    public long lastVisit() {
        return lastVisit;
    }

    /** The tier code of its schedule entry, or {@link #UNSCHEDULED}. */
    public byte tier() {
        return tier;
    }

    /** The step its schedule entry is due at (meaningful when {@link #scheduled()}). */
    public long due() {
        return due;
    }

    /** The class of its long-term slot, while {@link #inLongTerm()}. */
    public int slotClass() {
        return slotClass;
    }

    /** Its long-term slot in that class, while {@link #inLongTerm()}. */
    public int slot() {
        return slot;
    }

    /** Event time of the last applied feedback, or {@link #NO_FEEDBACK}. */
    public long feedbackTime() {
        return feedbackTime;
    }

    /** Trust of the last applied feedback. */
    public float feedbackTrust() {
        return feedbackTrust;
    }

    // ---- what happens to it (the buffer package only) ----

    /** It entered the short-term store at arrival sequence {@code seq}. */
    void arrived(long seq) {
        arrivalSeq = seq;
        inShortTerm = true;
    }

    /** It was put at fresh sequence {@code seq} of the fresh queue. */
    void queuedFresh(long seq) {
        freshSeq = seq;
    }

    /** It left the fresh queue untrained (rejected). */
    void leftFreshQueue() {
        freshSeq = -1;
    }

    /** It was trained at {@code step}: fresh for the first time, else recalled once more. */
    void visited(long step) {
        if (fresh()) {
            freshSeq = -1;
        } else {
            recallCount++;
        }
        lastVisit = step;
        correctionPending = false;
    }

    /** A LABEL correction (or feedback that waited for it) gave it {@code newLabel}. */
    void relabeled(int newLabel) {
        labelVersion++;
        label = newLabel;
    }

    /** After a correction of a trained sample: recalled once more, before any other recall (k kept). */
    void markCorrected() {
        correctionPending = true;
    }

    /** A CONFIRM: one more unit of retention priority. */
    void confirmed() {
        priority++;
    }

    /** The feedback just applied, which later feedback must beat. */
    void feedbackApplied(long time, float trust) {
        feedbackTime = time;
        feedbackTrust = trust;
    }

    /** It left the short-term store (evicted, aged out or rejected). */
    void leftShortTerm() {
        inShortTerm = false;
    }

    /** It was offered to the long-term buffer (kept or not). */
    void offeredToLongTerm() {
        offered = true;
    }

    /** It holds long-term slot {@code slot} of class {@code cls}. */
    void placed(int cls, int slot) {
        inLongTerm = true;
        slotClass = cls;
        this.slot = slot;
    }

    /** It moved to another slot of its class (the buffer keeps a class's slots dense). */
    void movedTo(int slot) {
        this.slot = slot;
    }

    /** It left the long-term buffer (evicted, trimmed, relabeled or rejected). */
    void leftLongTerm() {
        inLongTerm = false;
    }

    /** Its schedule entry is now in {@code tierCode} at step {@code dueStep}. */
    void scheduled(byte tierCode, long dueStep) {
        tier = tierCode;
        due = dueStep;
    }

    /**
     * What the in-memory copy of an entry keeps ({@link SampleEntries}): its model id, task
     * and shape shared with the other entries that have equal ones ({@code canonical}).
     */
    @SuppressWarnings("unchecked")
    void compact(java.util.function.UnaryOperator<Object> canonical) {
        modelId = (String) canonical.apply(modelId);
        task = (String) canonical.apply(task);
        shape = (List<Integer>) canonical.apply(shape);
    }

    /** It has no schedule entry. */
    void unscheduled() {
        tier = UNSCHEDULED;
    }

    public boolean labeled() {
        return label != NO_LABEL;
    }

    public boolean fresh() {
        return freshSeq >= 0;
    }

    public boolean scheduled() {
        return tier != UNSCHEDULED;
    }

    /** Whether the entry is still held anywhere; if not, it is deleted. */
    public boolean held() {
        return fresh() || inShortTerm || inLongTerm;
    }

    public Instant eventInstant() {
        return Instant.ofEpochMilli(eventTime);
    }

    /**
     * The entry without its features, in store format 2: a flat big-endian record (strings as an unsigned
     * 16-bit length and UTF-8). Format 1 (the same fields through {@code DataOutputStream}) is still read.
     */
    public byte[] encode() {
        byte[] model = modelId.getBytes(StandardCharsets.UTF_8);
        byte[] taskBytes = task == null ? null : task.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(FIXED_BYTES + model.length + (taskBytes == null ? 0 : 2 + taskBytes.length));
        b.put(FORMAT);
        putString(b, model);
        b.putInt(label).putInt(labelVersion);
        b.put((byte) (taskBytes == null ? 0 : 1));
        if (taskBytes != null) {
            putString(b, taskBytes);
        }
        b.putLong(eventTime).putLong(recordTime).putInt(sourcePartition).putLong(sourceOffset)
                .putLong(arrivalSeq).putLong(freshSeq)
                .put((byte) ((inShortTerm ? 1 : 0) | (inLongTerm ? 2 : 0) | (offered ? 4 : 0) | (correctionPending ? 8 : 0)))
                .putInt(priority).putInt(recallCount).putLong(lastVisit).put(tier).putLong(due)
                .putInt(slotClass).putInt(slot).putLong(feedbackTime).putFloat(feedbackTrust);
        return b.array();
    }

    /** Bytes of format 2 besides the strings: format, model length, 4 ints, task flag, ... (see encode). */
    private static final int FIXED_BYTES = 1 + 2 + 4 + 4 + 1 + 8 + 8 + 4 + 8 + 8 + 8 + 1 + 4 + 4 + 8 + 1 + 8 + 4 + 4 + 8 + 4;

    private static void putString(ByteBuffer b, byte[] utf8) {
        if (utf8.length > 0xFFFF) {
            throw new IllegalArgumentException("string of " + utf8.length + " bytes does not fit a sample entry");
        }
        b.putShort((short) utf8.length).put(utf8);
    }

    private static String getString(ByteBuffer b) {
        int length = Short.toUnsignedInt(b.getShort());
        String s = new String(b.array(), b.arrayOffset() + b.position(), length, StandardCharsets.UTF_8);
        b.position(b.position() + length);
        return s;
    }

    /** A copy of this entry: the same values, its own object (shape and features are shared: never changed in place). */
    public SampleEntry copy() {
        SampleEntry e = new SampleEntry();
        e.id = id;
        e.modelId = modelId;
        e.label = label;
        e.labelVersion = labelVersion;
        e.dtype = dtype;
        e.shape = shape;
        e.task = task;
        e.eventTime = eventTime;
        e.recordTime = recordTime;
        e.sourcePartition = sourcePartition;
        e.sourceOffset = sourceOffset;
        e.arrivalSeq = arrivalSeq;
        e.freshSeq = freshSeq;
        e.inShortTerm = inShortTerm;
        e.inLongTerm = inLongTerm;
        e.offered = offered;
        e.correctionPending = correctionPending;
        e.priority = priority;
        e.recallCount = recallCount;
        e.lastVisit = lastVisit;
        e.tier = tier;
        e.due = due;
        e.slotClass = slotClass;
        e.slot = slot;
        e.feedbackTime = feedbackTime;
        e.feedbackTrust = feedbackTrust;
        return e;
    }

    public static SampleEntry decode(String id, byte[] bytes) {
        if (bytes.length > 0 && bytes[0] == FORMAT_1) {
            return decodeFormat1(id, bytes);
        }
        if (bytes.length == 0 || bytes[0] != FORMAT) {
            throw new IllegalStateException("sample entry " + id + " has store format " + (bytes.length == 0 ? "(empty)" : bytes[0])
                    + " but this curator reads formats " + FORMAT_1 + " and " + FORMAT + "; run a curator version that wrote it");
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
            SampleEntry e = new SampleEntry();
            e.id = id;
            e.modelId = getString(b);
            e.label = b.getInt();
            e.labelVersion = b.getInt();
            e.task = b.get() != 0 ? getString(b) : null;
            e.eventTime = b.getLong();
            e.recordTime = b.getLong();
            e.sourcePartition = b.getInt();
            e.sourceOffset = b.getLong();
            e.arrivalSeq = b.getLong();
            e.freshSeq = b.getLong();
            e.flags(b.get());
            e.priority = b.getInt();
            e.recallCount = b.getInt();
            e.lastVisit = b.getLong();
            e.tier = b.get();
            e.due = b.getLong();
            e.slotClass = b.getInt();
            e.slot = b.getInt();
            e.feedbackTime = b.getLong();
            e.feedbackTrust = b.getFloat();
            return e;
        } catch (BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new IllegalStateException("sample entry " + id + " is truncated (" + bytes.length + " bytes)", e);
        }
    }

    private void flags(int flags) {
        inShortTerm = (flags & 1) != 0;
        inLongTerm = (flags & 2) != 0;
        offered = (flags & 4) != 0;
        correctionPending = (flags & 8) != 0;
    }

    /** Format 1, written by curators before 0.1.0's ByteBuffer codec: the same fields through DataOutputStream. */
    private static SampleEntry decodeFormat1(String id, byte[] bytes) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 1, bytes.length - 1));
            SampleEntry e = new SampleEntry();
            e.id = id;
            e.modelId = in.readUTF();
            e.label = in.readInt();
            e.labelVersion = in.readInt();
            e.task = in.readBoolean() ? in.readUTF() : null;
            e.eventTime = in.readLong();
            e.recordTime = in.readLong();
            e.sourcePartition = in.readInt();
            e.sourceOffset = in.readLong();
            e.arrivalSeq = in.readLong();
            e.freshSeq = in.readLong();
            e.flags(in.readByte());
            e.priority = in.readInt();
            e.recallCount = in.readInt();
            e.lastVisit = in.readLong();
            e.tier = in.readByte();
            e.due = in.readLong();
            e.slotClass = in.readInt();
            e.slot = in.readInt();
            e.feedbackTime = in.readLong();
            e.feedbackTrust = in.readFloat();
            return e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read sample entry " + id, e);
        }
    }
}
