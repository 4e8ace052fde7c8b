package io.rehearsal.streams.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
    private static SampleEntry entry(String task) {
        SampleEntry e = new SampleEntry();
        e.id = "fmnist-train-00042";
        e.modelId = "fashion-ÿ-model"; // non-ASCII: UTF-8 in format 2, modified UTF-8 in format 1
        e.label = 7;
        e.labelVersion = 2;
        e.task = task;
        e.eventTime = 1_700_000_000_123L;
        e.recordTime = 1_700_000_000_456L;
        e.sourcePartition = 3;
        e.sourceOffset = 123_456_789_012L;
        e.arrivalSeq = 41;
        e.freshSeq = -1;
        e.inShortTerm = true;
        e.inLongTerm = false;
        e.offered = true;
        e.correctionPending = true;
        e.priority = 5;
        e.recallCount = 9;
        e.lastVisit = 1_000;
        e.tier = 2;
        e.due = 1_064;
        e.slotClass = 7;
        e.slot = 12;
        e.feedbackTime = 1_700_000_001_000L;
        e.feedbackTrust = 0.75f;
        return e;
    }

    @ParameterizedTest
    @ValueSource(strings = {"task-3", ""})
    void formatTwoRoundTripsEveryField(String task) {
        SampleEntry e = entry(task);
        SampleEntry back = SampleEntry.decode(e.id, e.encode());
        assertThat(back).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void formatTwoRoundTripsWithoutTask() {
        SampleEntry e = entry(null);
        e.inShortTerm = false;
        e.inLongTerm = true;
        e.offered = false;
        e.correctionPending = false;
        assertThat(SampleEntry.decode(e.id, e.encode())).usingRecursiveComparison().isEqualTo(e);
    }

    @Test
    void entriesWrittenByFormatOneCuratorsAreStillRead() throws IOException {
        SampleEntry e = entry("task-1");
        byte[] old = formatOne(e);
        assertThat(old[0]).isEqualTo((byte) 1);
        assertThat(SampleEntry.decode(e.id, old)).usingRecursiveComparison().isEqualTo(e);
        assertThat(e.encode()[0]).isEqualTo((byte) 2);
    }

    @Test
    void unknownFormatsAndTruncatedEntriesSayWhat() {
        byte[] bytes = entry("t").encode();
        bytes[0] = 9;
        assertThatThrownBy(() -> SampleEntry.decode("s1", bytes)).hasMessageContaining("store format 9");
        byte[] cut = java.util.Arrays.copyOf(entry("t").encode(), 30);
        assertThatThrownBy(() -> SampleEntry.decode("s1", cut)).hasMessageContaining("truncated");
    }

    @Test
    void entriesReadFromMemoryAreCopiesAndWritesGoThroughToTheStore() {
        KeyValueStore<Bytes, byte[]> store = new InMemoryKeyValueStore("samples");
        SampleEntry first = entry("task-1");
        store.put(Keys.sample(first.id), first.encode());
        Map<String, SampleEntry> seen = new java.util.HashMap<>();
        SampleEntries entries = new SampleEntries(store, e -> seen.put(e.id, e));
        assertThat(seen).containsOnlyKeys(first.id);
        assertThat(entries.size()).isEqualTo(1);

        SampleEntry read = entries.get(first.id);
        read.recallCount = 100; // changed but not written back
        assertThat(entries.get(first.id).recallCount).isEqualTo(9);

        read.data = java.nio.ByteBuffer.wrap(new byte[] {1, 2, 3});
        entries.put(read);
        read.recallCount = 101; // after the write: no effect
        assertThat(entries.get(first.id).recallCount).isEqualTo(100);
        assertThat(entries.get(first.id).data).as("features are not held in memory").isNull();
        assertThat(SampleEntry.decode(first.id, store.get(Keys.sample(first.id))).recallCount).isEqualTo(100);

        entries.delete(first.id);
        assertThat(entries.get(first.id)).isNull();
        assertThat(store.get(Keys.sample(first.id))).isNull();
        assertThat(entries.size()).isZero();
    }

    /** An entry as curators before format 2 wrote it (their encode, verbatim). */
    private static byte[] formatOne(SampleEntry e) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte(1);
        out.writeUTF(e.modelId);
        out.writeInt(e.label);
        out.writeInt(e.labelVersion);
        out.writeBoolean(e.task != null);
        if (e.task != null) {
            out.writeUTF(e.task);
        }
        out.writeLong(e.eventTime);
        out.writeLong(e.recordTime);
        out.writeInt(e.sourcePartition);
        out.writeLong(e.sourceOffset);
        out.writeLong(e.arrivalSeq);
        out.writeLong(e.freshSeq);
        out.writeByte((e.inShortTerm ? 1 : 0) | (e.inLongTerm ? 2 : 0) | (e.offered ? 4 : 0) | (e.correctionPending ? 8 : 0));
        out.writeInt(e.priority);
        out.writeInt(e.recallCount);
        out.writeLong(e.lastVisit);
        out.writeByte(e.tier);
        out.writeLong(e.due);
        out.writeInt(e.slotClass);
        out.writeInt(e.slot);
        out.writeLong(e.feedbackTime);
        out.writeFloat(e.feedbackTrust);
        return bytes.toByteArray();
    }
}
