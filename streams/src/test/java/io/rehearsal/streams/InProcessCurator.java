package io.rehearsal.streams;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.buffer.SampleMemory;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.recall.DueEntry;
import io.rehearsal.streams.recall.RecallPolicy;
import io.rehearsal.streams.recall.Tier;
import io.rehearsal.streams.state.CuratorStores;
import io.rehearsal.streams.state.Keys;
import io.rehearsal.streams.state.ModelState;
import io.rehearsal.streams.buffer.SampleEntry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The curator without a broker: the very topology of {@link CuratorTopology} driven by Kafka's
 * {@link TopologyTestDriver}, for benchmarks, notebooks and tests. Push samples and feedback (as
 * records or as the bytes a producer would send), move the clock, and collect what the curator
 * emitted. It acts as one shard (partition 0) of the samples and feedback topics.
 *
 * <pre>{@code
 * try (InProcessCurator curator = new InProcessCurator(CuratorSettings.defaults().optLinger(Duration.ZERO))) {
 *     stream.forEach(curator::sample);
 *     for (TrainBatch batch : curator.batches()) { trainer.step(batch); }
 * }
 * }</pre>
 *
 * <p>Time: every pushed record carries the curator's clock as its timestamp (that is stream time, which
 * expires feedback and ages the short-term store), and {@link #advance} moves stream time and wall-clock
 * time together (wall clock drives linger and idle replay). Not thread-safe.
 */
public final class InProcessCurator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InProcessCurator.class);

    private final CuratorSettings settings;
    private final Topics topics;
    private final Path stateDir;
    private final TopologyTestDriver driver;
    private final TestInputTopic<byte[], byte[]> samplesIn;
    private final TestInputTopic<byte[], byte[]> feedbackIn;
    private final TestOutputTopic<String, TrainBatch> batchesOut;
    private final TestOutputTopic<byte[], DeadLetter> deadLettersOut;
    private final TestOutputTopic<String, SampleFeatures> featuresOut;
    /** Every admitted sample's features, by id, source partition and offset. */
    private final java.util.Map<String, SampleFeatures> features = new java.util.HashMap<>();
    private final java.util.Map<String, List<String>> keysById = new java.util.HashMap<>();
    private final java.util.Map<Integer, java.util.TreeMap<Long, List<String>>> releases = new java.util.HashMap<>();
    private Instant clock;

    /** In-memory stores, clock starting at 2026-01-01T00:00:00Z, meters discarded. */
    public InProcessCurator(CuratorSettings settings) {
        this(settings, Instant.parse("2026-01-01T00:00:00Z"), CuratorMetrics.discarding(), false);
    }

    /**
     * @param start      the initial clock (record timestamps and wall clock)
     * @param persistent RocksDB stores as in production (slower), or in-memory stores (same output)
     */
    public InProcessCurator(CuratorSettings settings, Instant start, CuratorMetrics metrics, boolean persistent) {
        this.settings = settings;
        this.topics = new Topics("in-process", 1);
        this.clock = start;
        try {
            this.stateDir = Files.createTempDirectory("rehearsal-curator-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a state directory for the in-process curator", e);
        }
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "in-process-curator");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "in-process:9092");
        props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        props.put("processing.exception.handler.global.enabled", "true");
        this.driver = new TopologyTestDriver(CuratorTopology.build(settings, topics, metrics, persistent), props, start);
        ByteArraySerializer bytes = new ByteArraySerializer();
        this.samplesIn = driver.createInputTopic(topics.samples().name(), bytes, bytes);
        this.feedbackIn = driver.createInputTopic(topics.feedback().name(), bytes, bytes);
        this.batchesOut = driver.createOutputTopic(topics.trainBatches().name(), new StringDeserializer(),
                topics.trainBatches().valueSerde().deserializer());
        this.deadLettersOut = driver.createOutputTopic(topics.deadLetters().name(), new ByteArrayDeserializer(),
                topics.deadLetters().valueSerde().deserializer());
        this.featuresOut = driver.createOutputTopic(topics.features().name(), new StringDeserializer(),
                topics.features().valueSerde().deserializer());
    }

    public CuratorSettings settings() {
        return settings;
    }

    /** Pushes a sample (Avro single-object encoded, keyed by its id). */
    public void sample(Sample sample) {
        sample(key(sample.getId()), topics.samples().serializeValue(sample));
    }

    /** Pushes a samples record as a producer would send it (any bytes: bad ones become dead letters). */
    public void sample(byte[] key, byte[] value) {
        samplesIn.pipeInput(key, value, clock);
    }

    /**
     * Pushes a sample whose record was stamped {@code sent} (by its producer) rather than now: before now, it is
     * read behind the stream, as by a curator lagging its input.
     */
    public void sample(Sample sample, Instant sent) {
        samplesIn.pipeInput(key(sample.getId()), topics.samples().serializeValue(sample), sent);
    }

    /** Pushes a feedback record (Avro single-object encoded, keyed by its sample id). */
    public void feedback(Feedback feedback) {
        feedback(key(feedback.getSampleId()), topics.feedback().serializeValue(feedback));
    }

    /** Pushes a feedback record as a producer would send it. */
    public void feedback(byte[] key, byte[] value) {
        feedbackIn.pipeInput(key, value, clock);
    }

    /**
     * Moves the clock: wall-clock punctuations (linger, idle replay) run; stream time, which expires
     * feedback and ages the short-term store, follows with the next pushed record.
     */
    public void advance(Duration d) {
        clock = clock.plus(d);
        driver.advanceWallClockTime(d);
    }

    public Instant now() {
        return clock;
    }

    /** The batches emitted since the last call, in order. */
    public List<TrainBatch> batches() {
        return batchesOut.readValuesToList();
    }

    /** The dead letters emitted since the last call, with their keys, in order. */
    public List<KeyValue<byte[], DeadLetter>> deadLetterRecords() {
        return deadLettersOut.readKeyValuesToList();
    }

    /** The features records (a tombstone is a null value, with headers) written since the last call, in order. */
    public List<TestRecord<String, SampleFeatures>> featureRecords() {
        List<TestRecord<String, SampleFeatures>> out = featuresOut.readRecordsToList();
        for (TestRecord<String, SampleFeatures> r : out) {
            if (r.value() != null) {
                String key = featuresKey(r.value());
                features.put(key, r.value());
                keysById.computeIfAbsent(r.key(), id -> new ArrayList<>()).add(key);
            } else {
                // dropped once the batch after which no batch names the sample has been resolved, as a trainer does
                int shard = Integer.parseInt(new String(r.headers().lastHeader(Topics.RELEASED_BY_SHARD_HEADER).value(),
                        StandardCharsets.UTF_8));
                long after = Long.parseLong(new String(r.headers().lastHeader(Topics.RELEASED_AFTER_HEADER).value(),
                        StandardCharsets.UTF_8));
                List<String> keys = keysById.remove(r.key());
                if (keys != null) {
                    releases.computeIfAbsent(shard, x -> new TreeMap<>()).computeIfAbsent(after, x -> new ArrayList<>())
                            .addAll(keys);
                }
            }
        }
        return out;
    }

    /**
     * {@code batch} with each item's features filled in from what the curator wrote to the features topic, as a
     * trainer resolves them: matched by sample id and the sample's source partition and offset, and let go once
     * the batch after which no batch names them has been resolved. Call it for every batch, in order.
     */
    public TrainBatch withFeatures(TrainBatch batch) {
        featureRecords();
        TrainBatch out = TrainBatch.newBuilder(batch).build();
        for (int i = 0; i < out.getItems().size(); i++) {
            TrainItem item = out.getItems().get(i);
            if (item.getFeatures() == null) {
                SampleFeatures f = features.get(item.getSampleId() + "@" + item.getSourcePartition() + ":" + item.getSourceOffset());
                if (f == null) {
                    throw new IllegalStateException("no features for sample " + item.getSampleId() + " of batch " + batch.getBatchId());
                }
                out.getItems().set(i, TrainItem.newBuilder(item).setFeatures(f.getFeatures()).build());
            }
        }
        java.util.NavigableMap<Long, List<String>> released = releases.get(batch.getShard());
        if (released != null) {
            java.util.NavigableMap<Long, List<String>> done = released.headMap(batch.getSequence(), true);
            done.values().forEach(keys -> keys.forEach(features::remove));
            done.clear();
        }
        return out;
    }

    /** Samples whose features {@link #withFeatures} holds. */
    public int featuresHeld() {
        return features.size();
    }

    private static String featuresKey(SampleFeatures f) {
        return f.getSampleId() + "@" + f.getSourcePartition() + ":" + f.getSourceOffset();
    }

    /** The dead letters emitted since the last call, in order. */
    public List<DeadLetter> deadLetters() {
        return deadLetterRecords().stream().map(kv -> kv.value).toList();
    }

    // ---- read-only views of the state, for tests and diagnostics ----

    /** The state of a model: steps, sizes, per-class occupancy. */
    public ModelState model(String modelId) {
        return memory().model(modelId);
    }

    /** A held sample, or null. */
    public SampleEntry entry(String sampleId) {
        return memory().get(sampleId);
    }

    /** The sample ids of one class in the long-term buffer. */
    public List<String> longTermMembers(String modelId, int cls) {
        return memory().longTerm().members(modelId, cls, model(modelId).occupancy(cls));
    }

    /** Every entry of one tier of the schedule, soonest due first. */
    public List<DueEntry> schedule(String modelId, Tier tier) {
        return memory().schedule().all(modelId, tier);
    }

    /** Whether a REJECT keeps this sample id out. */
    public boolean rejected(String sampleId) {
        return store(CuratorStores.REJECTED).get(Keys.sample(sampleId)) != null;
    }

    @Override
    public void close() {
        try {
            driver.close();
        } finally {
            deleteQuietly(stateDir);
        }
    }

    private SampleMemory memory() {
        CuratorStores s = new CuratorStores(store(CuratorStores.STATE), store(CuratorStores.SAMPLES),
                store(CuratorStores.LONG_TERM), store(CuratorStores.EVAL), store(CuratorStores.PENDING),
                store(CuratorStores.REJECTED), store(CuratorStores.EXPIRY));
        return new SampleMemory(s, settings.shardLimits(), settings.recallPolicy());
    }

    private KeyValueStore<Bytes, byte[]> store(String name) {
        return driver.getKeyValueStore(name);
    }

    private static byte[] key(String id) {
        return id.getBytes(StandardCharsets.UTF_8);
    }

    private static void deleteQuietly(Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            // a temporary directory left behind is harmless; the driver is already closed
            LOG.debug("could not delete the in-process curator's state in {}: {}", dir, e.toString());
        }
    }
}
