package io.rehearsal.models.features;

import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.SampleFeatures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * The features of every sample a trainer's batches may still name, as the curator wrote them to the features
 * topic: the trainer's side of "features travel once". Pure bookkeeping, no Kafka ({@link FeatureFeed} feeds it).
 *
 * <p>A sample is held from its features record until the curator has let it go <em>and</em> the trainer has
 * read the batch after which no batch names it: a tombstone carries the shard that let the sample go and that
 * batch's sequence ({@link #release}), and {@link #trained} drops what it covers. So a tombstone that overtakes
 * the batches still naming its sample (they are on another topic) never removes features they need.
 *
 * <p>Each held copy is one <em>version</em> of its id: the sample written at a partition and offset of the
 * samples topic. Batch items name all three, and {@link #get} returns only that version, so a batch never
 * trains on the features of another sample sent under the same id.
 *
 * <p>Bounded: past {@code memoryBytes} of features, the oldest copies move to a disk tier (RocksDB under
 * {@code directory}, opened on first use and wiped on open: the cache is rebuilt from the topic at every
 * start), from which {@link #get} reads them back.
 */
public final class FeatureCache implements AutoCloseable {
    private static final AvroSerde<Features> CODEC = AvroSerde.of(Features.class);

    private final String modelId;
    private final long memoryBudget;
    private final Path directory;
    private final Map<String, List<Held>> byId = new HashMap<>();
    /** Copies in memory, oldest first. */
    private final LinkedHashSet<Held> memoryOrder = new LinkedHashSet<>();
    /** Released copies by shard, then by the sequence after which they may go. */
    private final Map<Integer, NavigableMap<Long, List<Held>>> released = new HashMap<>();
    /** Per shard, the highest batch sequence trained or evaluated. */
    private final Map<Integer, Long> trainedUpTo = new HashMap<>();
    private RocksDB disk;
    private WriteOptions writeOptions;
    private Options options;
    private long memoryBytes;
    private long diskBytes;
    private int memoryCount;
    private int diskCount;

    /**
     * @param modelId     only features of this model are kept
     * @param memoryBytes features kept in memory; beyond, the oldest go to disk
     * @param directory   where the disk tier lives (its contents are deleted when it opens)
     */
    public FeatureCache(String modelId, long memoryBytes, Path directory) {
        if (memoryBytes < 0) {
            throw new IllegalArgumentException("memoryBytes must be >= 0, got " + memoryBytes);
        }
        this.modelId = modelId;
        this.memoryBudget = memoryBytes;
        this.directory = directory;
    }

    /** A sample's features, as the curator wrote them (another model's are ignored). */
    public void add(SampleFeatures f) {
        if (!modelId.equals(f.getModelId())) {
            return;
        }
        List<Held> versions = byId.computeIfAbsent(f.getSampleId(), id -> new ArrayList<>(1));
        for (Held h : versions) {
            if (h.partition == f.getSourcePartition() && h.offset == f.getSourceOffset()) {
                return; // the same sample written again (a curator that re-did its work): one copy is enough
            }
        }
        Held h = new Held(f.getSampleId(), f.getSourcePartition(), f.getSourceOffset(), f.getFeatures());
        versions.add(h);
        memoryOrder.add(h);
        memoryBytes += h.bytes;
        memoryCount++;
        spill();
    }

    /**
     * The curator let {@code sampleId} go: every version read so far is dropped once a batch of {@code shard}
     * with sequence {@code after} or later has been trained or evaluated (at once if one has).
     */
    public void release(String sampleId, int shard, long after) {
        List<Held> versions = byId.get(sampleId);
        if (versions == null) {
            return;
        }
        long done = trainedUpTo.getOrDefault(shard, Long.MIN_VALUE);
        for (Held h : List.copyOf(versions)) {
            if (h.released) {
                continue;
            }
            h.released = true;
            if (done >= after) {
                drop(h);
            } else {
                released.computeIfAbsent(shard, s -> new TreeMap<>()).computeIfAbsent(after, a -> new ArrayList<>()).add(h);
            }
        }
    }

    /** The trainer has read batch {@code sequence} of {@code shard}: what was released up to it goes. */
    public void trained(int shard, long sequence) {
        trainedUpTo.merge(shard, sequence, Math::max);
        NavigableMap<Long, List<Held>> byAfter = released.get(shard);
        if (byAfter == null) {
            return;
        }
        NavigableMap<Long, List<Held>> due = byAfter.headMap(sequence, true);
        for (List<Held> list : due.values()) {
            list.forEach(this::drop);
        }
        due.clear();
    }

    /** The features of {@code sampleId} as written at {@code partition}/{@code offset} of the samples topic. */
    public Optional<Features> get(String sampleId, int partition, long offset) {
        List<Held> versions = byId.get(sampleId);
        if (versions == null) {
            return Optional.empty();
        }
        for (Held h : versions) {
            if (h.partition == partition && h.offset == offset) {
                return Optional.of(h.onDisk ? readDisk(h) : copy(h.features));
            }
        }
        return Optional.empty();
    }

    /** Whether any version of {@code sampleId} is held (tests, diagnostics). */
    public boolean holds(String sampleId) {
        return byId.containsKey(sampleId);
    }

    public int memoryCount() {
        return memoryCount;
    }

    public long memoryBytes() {
        return memoryBytes;
    }

    public int diskCount() {
        return diskCount;
    }

    public long diskBytes() {
        return diskBytes;
    }

    /** Released copies still held because a batch that names them may not have been read yet. */
    public int releasedPending() {
        return released.values().stream().flatMap(m -> m.values().stream()).mapToInt(List::size).sum();
    }

    private void drop(Held h) {
        List<Held> versions = byId.get(h.id);
        if (versions != null) {
            versions.remove(h);
            if (versions.isEmpty()) {
                byId.remove(h.id);
            }
        }
        if (h.dropped) {
            return;
        }
        h.dropped = true;
        if (h.onDisk) {
            try {
                disk.delete(writeOptions, h.diskKey());
            } catch (RocksDBException e) {
                throw new IllegalStateException("cannot delete features of " + h.id + " from " + directory, e);
            }
            diskBytes -= h.bytes;
            diskCount--;
        } else {
            memoryOrder.remove(h);
            h.features = null;
            memoryBytes -= h.bytes;
            memoryCount--;
        }
    }

    private void spill() {
        Iterator<Held> oldest = memoryOrder.iterator();
        while (memoryBytes > memoryBudget && oldest.hasNext()) {
            Held h = oldest.next();
            oldest.remove();
            try {
                openDisk().put(writeOptions, h.diskKey(), CODEC.encode(h.features));
            } catch (RocksDBException e) {
                throw new IllegalStateException("cannot write features of " + h.id + " to " + directory, e);
            }
            h.onDisk = true;
            h.features = null;
            memoryBytes -= h.bytes;
            memoryCount--;
            diskBytes += h.bytes;
            diskCount++;
        }
    }

    private Features readDisk(Held h) {
        try {
            byte[] bytes = disk.get(h.diskKey());
            if (bytes == null) {
                throw new IllegalStateException("features of " + h.id + " are missing from " + directory);
            }
            return CODEC.decode(bytes);
        } catch (RocksDBException e) {
            throw new IllegalStateException("cannot read features of " + h.id + " from " + directory, e);
        }
    }

    private RocksDB openDisk() {
        if (disk == null) {
            try {
                wipe(directory);
                Files.createDirectories(directory);
                RocksDB.loadLibrary();
                options = new Options().setCreateIfMissing(true);
                writeOptions = new WriteOptions().setDisableWAL(true); // a cache: rebuilt from the topic at every start
                disk = RocksDB.open(options, directory.toString());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the feature cache's directory " + directory, e);
            } catch (RocksDBException e) {
                throw new IllegalStateException("cannot open the feature cache's disk tier under " + directory, e);
            }
        }
        return disk;
    }

    private static void wipe(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            for (Iterator<Path> it = paths.sorted(Comparator.reverseOrder()).iterator(); it.hasNext(); ) {
                Files.delete(it.next());
            }
        }
    }

    /** A copy the caller may consume: the data buffer's position is its own. */
    private static Features copy(Features f) {
        return new Features(f.getShape(), f.getDtype(), f.getData().duplicate());
    }

    @Override
    public void close() {
        if (disk != null) {
            disk.close();
            writeOptions.close();
            options.close();
            disk = null;
            try {
                wipe(directory);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    private static final class Held {
        final String id;
        final int partition;
        final long offset;
        final int bytes;
        Features features;
        boolean onDisk;
        boolean released;
        boolean dropped;

        Held(String id, int partition, long offset, Features features) {
            this.id = id;
            this.partition = partition;
            this.offset = offset;
            this.features = features;
            this.bytes = features.getData().remaining() + 64;
        }

        byte[] diskKey() {
            return (id + "@" + partition + ":" + offset).getBytes(StandardCharsets.UTF_8);
        }
    }
}
