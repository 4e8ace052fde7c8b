package io.rehearsal.broker;

import io.rehearsal.schemas.Replication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.Feature;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node Kafka 4.4 broker in KRaft combined mode (broker and controller), running in this JVM.
 * It serves {@code rehearsal broker}, the demo and the tests: a real broker, with real transactions,
 * compaction and consumer groups, on a machine without Docker.
 *
 * <pre>{@code
 * try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(9092).build().start()) {
 *     String bootstrap = broker.bootstrapServers();
 * }
 * }</pre>
 *
 * <p>Storage is formatted on first start in the data directory (a temporary one, deleted on close, when
 * none is given). {@link #stop()} and {@link #start()} may be called again to restart the broker on
 * the same ports and data, as a broker restart in production would.
 */
public final class EmbeddedKafkaBroker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);

    private final Path dataDir;
    private final boolean deleteOnClose;
    private final int port;
    private final int controllerPort;
    private final String host;
    private final Map<String, String> overrides;
    private final List<String> scramArguments;
    private final int nodeId;
    private final String quorumVoters;
    private final Replication replication;
    private String clusterId;
    private KafkaRaftServer server;
    private Duration lastStartTime = Duration.ZERO;

    private EmbeddedKafkaBroker(Builder b) {
        try {
            this.deleteOnClose = b.dataDir == null;
            this.dataDir = b.dataDir == null ? Files.createTempDirectory("rehearsal-kafka-") : b.dataDir;
            this.host = b.host;
            this.port = b.port == 0 ? freePort() : b.port;
            this.controllerPort = b.controllerPort == 0 ? freePort() : b.controllerPort;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the embedded broker's directory or ports", e);
        }
        this.overrides = Map.copyOf(b.overrides);
        this.scramArguments = List.copyOf(b.scramArguments);
        this.nodeId = b.nodeId;
        this.quorumVoters = b.quorumVoters == null ? nodeId + "@" + host + ":" + controllerPort : b.quorumVoters;
        this.replication = Replication.forBrokers(b.clusterSize);
        this.clusterId = b.clusterId;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Formats storage if needed and starts the broker; returns once it is unfenced and serving.
     *
     * @return this broker
     */
    public synchronized EmbeddedKafkaBroker start() {
        if (server != null) {
            return this;
        }
        long t0 = System.nanoTime();
        Properties props = brokerProperties();
        KafkaConfig config = KafkaConfig.fromProps(props, false);
        format(config);
        KafkaRaftServer raft = new KafkaRaftServer(config, Time.SYSTEM);
        try {
            raft.startup();
        } catch (RuntimeException e) {
            raft.shutdown();
            raft.awaitShutdown();
            throw new IllegalStateException("embedded Kafka broker failed to start on port " + port + ": " + e.getMessage(), e);
        }
        server = raft;
        lastStartTime = Duration.ofNanos(System.nanoTime() - t0);
        LOG.info("Kafka broker ready at {} in {} ms (data in {})", bootstrapServers(), lastStartTime.toMillis(), dataDir);
        return this;
    }

    /** Stops the broker and keeps its data, so {@link #start()} restarts it. */
    public synchronized void stop() {
        if (server == null) {
            return;
        }
        long t0 = System.nanoTime();
        server.shutdown();
        server.awaitShutdown();
        server = null;
        LOG.info("Kafka broker at {} stopped in {} ms", bootstrapServers(), (System.nanoTime() - t0) / 1_000_000);
    }

    /** Stops the broker and deletes its data if it was a temporary directory. */
    @Override
    public synchronized void close() {
        stop();
        if (deleteOnClose) {
            deleteRecursively(dataDir);
        }
    }

    public String bootstrapServers() {
        return host + ":" + port;
    }

    public int port() {
        return port;
    }

    /** This broker's {@code node.id} (1 for a single broker, 1..N in an {@link EmbeddedKafkaCluster}). */
    public int nodeId() {
        return nodeId;
    }

    /** The controller listener's port. */
    public int controllerPort() {
        return controllerPort;
    }

    public Path dataDir() {
        return dataDir;
    }

    public synchronized boolean isRunning() {
        return server != null;
    }

    /** How long the last {@link #start()} took from call to ready. */
    public synchronized Duration lastStartTime() {
        return lastStartTime;
    }

    private Properties brokerProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        p.put("node.id", Integer.toString(nodeId));
        p.put("controller.quorum.voters", quorumVoters);
        p.put("listeners", "PLAINTEXT://" + host + ":" + port + ",CONTROLLER://" + host + ":" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://" + host + ":" + port);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dataDir.resolve("logs").toString());
        // replication as in production for the cluster's size: 3 copies, 2 in sync from three brokers on
        String factor = Integer.toString(replication.factor());
        String minIsr = Integer.toString(replication.minInSyncReplicas());
        p.put("num.partitions", "1");
        p.put("default.replication.factor", factor);
        p.put("min.insync.replicas", minIsr);
        p.put("offsets.topic.replication.factor", factor);
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.replication.factor", factor);
        p.put("transaction.state.log.min.isr", minIsr);
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.replication.factor", factor);
        p.put("share.coordinator.state.topic.min.isr", minIsr);
        p.put("group.initial.rebalance.delay.ms", "0");
        // rehearsal creates its topics explicitly (TopicAdmin); a typo should fail, not create a topic
        p.put("auto.create.topics.enable", "false");
        // the default 128 MiB cleaner buffer is allocated on the heap: too much for a small JVM
        p.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 << 20));
        p.put("log.cleaner.backoff.ms", "1000");
        p.put("message.max.bytes", Integer.toString(8 << 20));
        p.putAll(overrides);
        Properties props = new Properties();
        props.putAll(p);
        return props;
    }

    private void format(KafkaConfig config) {
        Path meta = dataDir.resolve("logs").resolve("meta.properties");
        if (Files.exists(meta)) {
            return; // formatted by an earlier start: a restart keeps the cluster id and data
        }
        if (clusterId == null) {
            clusterId = Uuid.randomUuid().toString();
        }
        try {
            Formatter formatter = new Formatter()
                    .setNodeId(nodeId)
                    .setClusterId(clusterId)
                    .setControllerListenerName("CONTROLLER")
                    .setMetadataLogDirectory(config.metadataLogDir())
                    .setDirectories(List.of(dataDir.resolve("logs").toString()))
                    .setSupportedFeatures(Feature.PRODUCTION_FEATURES)
                    .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
                    .setPrintStream(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
            if (!scramArguments.isEmpty()) {
                formatter.setScramArguments(scramArguments);
            }
            formatter.run();
        } catch (Exception e) {
            throw new IllegalStateException("cannot format Kafka storage in " + dataDir + ": " + e.getMessage(), e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }

    private static void deleteRecursively(Path dir) {
        try {
            Utils.delete(dir.toFile());
        } catch (IOException e) {
            LOG.warn("could not delete the embedded broker's data in {}: {}", dir, e.toString());
        }
    }

    /** Options for an {@link EmbeddedKafkaBroker}. */
    public static final class Builder {
        private Path dataDir;
        private String host = "localhost";
        private int port;
        private int controllerPort;
        private final Map<String, String> overrides = new LinkedHashMap<>();
        private final List<String> scramArguments = new ArrayList<>();
        private int nodeId = 1;
        private String quorumVoters;
        private String clusterId;
        private int clusterSize = 1;

        private Builder() {
        }

        /** One node of an {@link EmbeddedKafkaCluster}: its id, the controller quorum, the shared cluster id and size. */
        Builder clusterNode(int nodeId, String quorumVoters, String clusterId, int clusterSize) {
            this.nodeId = nodeId;
            this.quorumVoters = quorumVoters;
            this.clusterId = clusterId;
            this.clusterSize = clusterSize;
            return this;
        }

        /** Keep data here (kept on close); default a temporary directory deleted on close. */
        public Builder dataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        /** The client port; 0 (default) picks a free one. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        /** The controller port; 0 (default) picks a free one. */
        public Builder controllerPort(int port) {
            this.controllerPort = port;
            return this;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /**
         * Any broker property, applied last (e.g. a SASL_SSL listener: {@code listeners},
         * {@code listener.security.protocol.map}, {@code ssl.keystore.location}, ...).
         */
        public Builder brokerProperty(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        /**
         * SCRAM credentials written when storage is formatted, in kafka-storage's form, e.g.
         * {@code SCRAM-SHA-512=[name=alice,password=secret]}.
         */
        public Builder scramCredential(String argument) {
            scramArguments.add(argument);
            return this;
        }

        public EmbeddedKafkaBroker build() {
            return new EmbeddedKafkaBroker(this);
        }
    }
}
