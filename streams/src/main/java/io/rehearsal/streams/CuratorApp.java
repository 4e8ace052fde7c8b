package io.rehearsal.streams;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The curator as a running Kafka Streams application: exactly-once (v2), RocksDB state with
 * changelogs, meters on the given registry (the curator's own and Kafka Streams' client metrics).
 * {@code main}-style wiring only; the logic is {@link CuratorTopology}.
 *
 * <pre>{@code
 * try (CuratorApp app = new CuratorApp(settings, topics, Map.of("bootstrap.servers", "kafka:9092"), registry)) {
 *     app.start();
 *     ...
 * }
 * }</pre>
 *
 * <p>Kafka client properties (TLS, SASL, {@code state.dir}, {@code num.stream.threads}, ...) are passed
 * in {@code clientProperties} and win over the defaults here, except the processing guarantee, which is
 * always {@code exactly_once_v2}. The application id defaults to {@code <topic prefix>-curator}.
 */
public final class CuratorApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CuratorApp.class);
    /** How often Kafka Streams' own metrics are rescanned (new tasks and stores appear after start). */
    static final Duration CLIENT_METRICS_REFRESH = Duration.ofSeconds(5);
    /**
     * The longest {@link #close} waits for Kafka Streams: a process stopped with SIGTERM is gone within 5 s
     * (the rest is the JVM's own exit).
     */
    public static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(3);

    private final CuratorSettings settings;
    private final Topics topics;
    private final Properties config;
    private final MeterRegistry registry;
    private KafkaStreams streams;
    private KafkaStreamsMetrics streamsMetrics;
    private ScheduledExecutorService scheduler;

    public CuratorApp(CuratorSettings settings, Topics topics, Map<String, Object> clientProperties, MeterRegistry registry) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.topics = Objects.requireNonNull(topics, "topics");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.config = streamsConfig(topics, clientProperties);
    }

    /** The Kafka Streams configuration the curator runs with. */
    public static Properties streamsConfig(Topics topics, Map<String, Object> clientProperties) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, topics.prefix() + "-curator");
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // what it writes: batches and changelog records (up to the batch topic's limit), rerouted inputs
        // (up to the samples topic's limit plus headers) and bounded dead letters
        p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG),
                Topics.maxRequestSize(topics.trainBatches(), topics.reroute(), topics.features(), topics.deadLetters()));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 64L << 20);
        p.put("processing.exception.handler.global.enabled", "true");
        clientProperties.forEach(p::put);
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        StaticMembership.apply(p);
        return p;
    }

    /** Ensures the topics exist (creating missing ones), then starts processing. */
    public synchronized void start() {
        if (streams != null) {
            throw new IllegalStateException("the curator is already started");
        }
        Map<String, Object> adminProps = new HashMap<>();
        config.forEach((k, v) -> adminProps.put(k.toString(), v));
        try (Admin admin = Admin.create(adminProps)) {
            TopicAdmin.Report report = new TopicAdmin(admin).ensure(List.of(topics.samples(), topics.feedback(),
                    topics.reroute(), topics.features(), topics.trainBatches(), topics.deadLetters()));
            report.drifts().forEach(d -> LOG.warn("topic drift: {}", d));
            checkShards(admin);
        }
        CuratorMetrics metrics = new CuratorMetrics(registry);
        Properties withHandlers = new Properties();
        withHandlers.putAll(config);
        withHandlers.putAll(CuratorErrorHandler.configs(metrics, topics));
        streams = new KafkaStreams(CuratorTopology.build(settings, topics, metrics), withHandlers);
        streams.setGlobalStateRestoreListener(new RestoreLog());
        if (Boolean.parseBoolean(String.valueOf(config.get(StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG)))) {
            LOG.warn("{}=true: in Kafka Streams 4.4.0 transactional state stores still wipe the state after an unclean "
                    + "stop, and a metrics read after a store closed crashed the JVM (SIGSEGV in RocksDB "
                    + "WriteBatch.getDataSize); see docs/reliability.md, \"Restarts after kill -9\"",
                    StreamsConfig.TRANSACTIONAL_STATE_STORES_CONFIG);
        }
        // a transient broker fault that killed a stream thread: a new thread; a failed store or anything else: stop
        streams.setUncaughtExceptionHandler(new StreamThreadFailures(metrics));
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "curator-metrics");
            t.setDaemon(true);
            return t;
        });
        streamsMetrics = new KafkaStreamsMetrics(streams, Tags.empty(), scheduler, CLIENT_METRICS_REFRESH);
        streamsMetrics.bindTo(registry);
        streams.start();
        LOG.info("curator {} started: {}", config.get(StreamsConfig.APPLICATION_ID_CONFIG), settings.describe());
    }

    /**
     * The samples, feedback and reroute topics must have the partition count the settings split capacities
     * by and route sample ids with: a sample and its feedback meet on the shard of the sample id's partition.
     */
    private void checkShards(Admin admin) {
        List<String> names = List.of(topics.samples().name(), topics.feedback().name(), topics.reroute().name());
        Map<String, Integer> counts = new java.util.TreeMap<>();
        try {
            admin.describeTopics(names).allTopicNames().get().forEach((name, d) -> counts.put(name, d.partitions().size()));
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("cannot describe the curator's input topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while describing the curator's input topics", e);
        }
        if (counts.values().stream().anyMatch(n -> n != settings.inputPartitions())) {
            throw new IllegalStateException(String.format("the curator is set up for %d input partitions but the topics have "
                    + "%s; samples, feedback and %s must have the same partition count, and the curator's "
                    + "--partitions must be that count", settings.inputPartitions(), counts, topics.reroute().name()));
        }
    }

    /** The Kafka Streams state (CREATED before start). */
    public synchronized KafkaStreams.State state() {
        return streams == null ? KafkaStreams.State.CREATED : streams.state();
    }

    /**
     * Kafka Streams' own metrics (thread, task, store and client metrics) of the running curator, for
     * benchmarks and diagnostics; empty before {@link #start}.
     */
    public synchronized Map<MetricName, ? extends Metric> kafkaMetrics() {
        return streams == null ? Map.of() : streams.metrics();
    }

    /**
     * Starts the curator and waits until it is RUNNING.
     *
     * @throws IllegalStateException if it fails or does not get there within {@code timeout}
     */
    public void startAndAwaitRunning(Duration timeout) throws InterruptedException {
        start();
        if (!awaitRunning(timeout)) {
            throw new IllegalStateException("the curator did not reach RUNNING within " + timeout + ": " + state());
        }
    }

    /** Whether it reached RUNNING within {@code timeout} (polls the state). */
    public boolean awaitRunning(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            KafkaStreams.State s = state();
            if (s == KafkaStreams.State.RUNNING) {
                return true;
            }
            if (s == KafkaStreams.State.ERROR || s == KafkaStreams.State.NOT_RUNNING) {
                return false;
            }
            Thread.sleep(50);
        }
        return false;
    }

    /**
     * Stops processing, committing what was processed, and leaves the consumer group so that the shards
     * move (or a restarted instance rejoins) at once instead of after the session timeout; the state stays
     * for the next start. Waits at most {@link #CLOSE_TIMEOUT}: what is not committed by then is aborted and
     * processed again by the next owner of the shard (exactly-once), so a stop is bounded even when the
     * broker does not answer.
     */
    @Override
    public synchronized void close() {
        if (streams == null) {
            return;
        }
        try {
            streamsMetrics.close();
            if (!streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
                    .withTimeout(CLOSE_TIMEOUT))) {
                LOG.warn("the curator did not finish closing within {}; its uncommitted work will be processed again "
                        + "by the next start", CLOSE_TIMEOUT);
            }
        } finally {
            scheduler.shutdownNow();
            streams = null;
        }
    }
}
