package io.rehearsal.streams.buffer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.streams.state.Keys;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Map;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.internals.InMemoryKeyValueStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SampleEntryTest {
    /** Every stored field of an entry, each with a value of its own, as the format-1 writer below takes them. */
    private record Fields(String modelId, int label, int labelVersion, String task, long eventTime, long recordTime,
                          int sourcePartition, long sourceOffset, long arrivalSeq, long freshSeq, int flags, int priority,
                          int recallCount, long lastVisit, byte tier, long due, int slotClass, int slot, long feedbackTime,
                          float feedbackTrust) {
        Fields withFlags(int f) {
            return new Fields(modelId, label, labelVersion, task, eventTime, recordTime, sourcePartition, sourceOffset,
                    arrivalSeq, freshSeq, f, priority, recallCount, lastVisit, tier, due, slotClass, slot, feedbackTime,
                    feedbackTrust);
        }
    }

    private static final String ID = "fmnist-train-00042";

    private static Fields fields(String task) {
        // non-ASCII model id: UTF-8 in format 2, modified UTF-8 in format 1; flags: in short-term, offered, correction pending
        return new Fields("fashion-ÿ-model", 7, 2, task, 1_700_000_000_123L, 1_700_000_000_456L, 3, 123_456_789_012L, 41, -1,
                1 | 4 | 8, 5, 9, 1_000, (byte) 2, 1_064, 7, 12, 1_700_000_001_000L, 0.75f);
    }

    /** An entry with every field set: the one the format-1 writer's bytes decode to. */
    private static SampleEntry entry(Fields f) {
        try {
            return SampleEntry.decode(ID, formatOne(f));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"task-3", ""})
    void formatTwoRoundTripsEveryField(String task) {
        SampleEntry e = entry(fields(task));
        SampleEntry back = SampleEntry.decode(e.id(), e.encode());
        assertThat(back).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void formatTwoRoundTripsWithoutTask() {
        SampleEntry e = entry(fields(null).withFlags(2)); // only in the long-term buffer
        assertThat(e.inLongTerm()).isTrue();
        assertThat(e.inShortTerm() || e.offered() || e.correctionPending()).isFalse();
        assertThat(SampleEntry.decode(e.id(), e.encode())).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void entriesWrittenByFormatOneCuratorsAreStillRead() throws IOException {
        Fields f = fields("task-1");
        SampleEntry e = SampleEntry.decode(ID, formatOne(f));

        assertThat(formatOne(f)[0]).isEqualTo((byte) 1);
        assertThat(e.encode()[0]).isEqualTo((byte) 2);
        assertThat(new Fields(e.modelId(), e.label(), e.labelVersion(), e.task(), e.eventTime(), e.recordTime(),
                e.sourcePartition(), e.sourceOffset(), e.arrivalSeq(), e.freshSeq(),
                (e.inShortTerm() ? 1 : 0) | (e.inLongTerm() ? 2 : 0) | (e.offered() ? 4 : 0) | (e.correctionPending() ? 8 : 0),
                e.priority(), e.recallCount(), e.lastVisit(), e.tier(), e.due(), e.slotClass(), e.slot(), e.feedbackTime(),
                e.feedbackTrust())).isEqualTo(f);
        assertThat(SampleEntry.decode(ID, e.encode())).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void unknownFormatsAndTruncatedEntriesSayWhat() {
        byte[] bytes = entry(fields("t")).encode();
        bytes[0] = 9;
        assertThatThrownBy(() -> SampleEntry.decode("s1", bytes)).hasMessageContaining("store format 9");
        byte[] cut = java.util.Arrays.copyOf(entry(fields("t")).encode(), 30);
        assertThatThrownBy(() -> SampleEntry.decode("s1", cut)).hasMessageContaining("truncated");
    }

    @Test
    void entriesReadFromMemoryAreCopiesAndWritesGoThroughToTheStore() {
        KeyValueStore<Bytes, byte[]> store = new InMemoryKeyValueStore("samples");
        SampleEntry first = entry(fields("task-1"));
        store.put(Keys.sample(first.id()), first.encode());
        Map<String, SampleEntry> seen = new java.util.HashMap<>();
        SampleEntries entries = new SampleEntries(store, e -> seen.put(e.id(), e));
        assertThat(seen).containsOnlyKeys(first.id());
        assertThat(entries.size()).isEqualTo(1);

        SampleEntry read = entries.get(first.id());
        read.visited(1_001); // recalled once more, but not written back
        assertThat(read.recallCount()).isEqualTo(10);
        assertThat(entries.get(first.id()).recallCount()).isEqualTo(9);

        entries.put(read);
        read.visited(1_002); // after the write: no effect
        assertThat(entries.get(first.id()).recallCount()).isEqualTo(10);
        assertThat(SampleEntry.decode(first.id(), store.get(Keys.sample(first.id()))).recallCount()).isEqualTo(10);

        entries.delete(first.id());
        assertThat(entries.get(first.id())).isNull();
        assertThat(store.get(Keys.sample(first.id()))).isNull();
        assertThat(entries.size()).isZero();
    }

    /** An entry as curators before format 2 wrote it (their encode, verbatim, over the fields). */
    private static byte[] formatOne(Fields e) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(1);
        out.writeUTF(e.modelId());
        out.writeInt(e.label());
        out.writeInt(e.labelVersion());
        out.writeBoolean(e.task() != null);
        if (e.task() != null) {
            out.writeUTF(e.task());
        }
        out.writeLong(e.eventTime());
        out.writeLong(e.recordTime());
        out.writeInt(e.sourcePartition());
        out.writeLong(e.sourceOffset());
        out.writeLong(e.arrivalSeq());
        out.writeLong(e.freshSeq());
        out.writeByte(e.flags());
        out.writeInt(e.priority());
        out.writeInt(e.recallCount());
        out.writeLong(e.lastVisit());
        out.writeByte(e.tier());
        out.writeLong(e.due());
        out.writeInt(e.slotClass());
        out.writeInt(e.slot());
        out.writeLong(e.feedbackTime());
        out.writeFloat(e.feedbackTrust());
        return bytes.toByteArray();
    }
}
