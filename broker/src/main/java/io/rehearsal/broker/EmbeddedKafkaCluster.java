package io.rehearsal.broker;

import io.rehearsal.schemas.Replication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * N Kafka 4.4 brokers in this JVM, each in KRaft combined mode (broker and controller of a static quorum
 * of all N), with replication as in production for the cluster's size ({@link Replication#forBrokers}: 3
 * copies and {@code min.insync.replicas} 2 from three brokers on, for rehearsal's topics and for the
 * consumer offsets and transaction state topics alike).
 *
 * <pre>{@code
 * try (EmbeddedKafkaCluster cluster = EmbeddedKafkaCluster.builder().brokers(3).build().start()) {
 *     String bootstrap = cluster.bootstrapServers();
 *     cluster.broker(2).stop();  // one broker down: a majority of controllers and 2 of 3 replicas remain
 *     cluster.broker(2).start(); // back on its data, catching up as a follower
 * }
 * }</pre>
 *
 * <p>A stop is a broker's shutdown in this JVM without the controlled part: its logs are flushed and its
 * connections closed, but its leaderships are not handed over first; the controller fences it after
 * {@code broker.session.timeout.ms} (6 s here) without a heartbeat and elects new leaders, as after a crash.
 * (A controlled shutdown needs a controller quorum: closing a whole cluster, the last brokers waited five
 * minutes each for one.) It is not a {@code kill -9}: nothing is lost from the page cache. Nodes are numbered 1..N ({@code node.id}); node i keeps its data in
 * {@code <dataDir>/node-i}. Client ports are consecutive from the first one given (free ones otherwise).
 */
public final class EmbeddedKafkaCluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaCluster.class);

    private final List<EmbeddedKafkaBroker> brokers;
    private final Path dataDir;
    private final boolean deleteOnClose;

    private EmbeddedKafkaCluster(Builder b) {
        try {
            this.deleteOnClose = b.dataDir == null;
            this.dataDir = b.dataDir == null ? Files.createTempDirectory("rehearsal-kafka-cluster-") : b.dataDir;
            int[] ports = new int[b.brokers];
            int[] controllerPorts = new int[b.brokers];
            for (int i = 0; i < b.brokers; i++) {
                ports[i] = b.port == 0 ? EmbeddedKafkaBroker.freePort() : b.port + i;
                controllerPorts[i] = EmbeddedKafkaBroker.freePort();
            }
            List<String> voters = new ArrayList<>();
            for (int i = 0; i < b.brokers; i++) {
                voters.add((i + 1) + "@" + b.host + ":" + controllerPorts[i]);
            }
            String quorum = String.join(",", voters);
            // the cluster id each node was formatted with, if it was: a restarted cluster keeps its own
            String clusterId = Uuid.randomUuid().toString();
            List<EmbeddedKafkaBroker> nodes = new ArrayList<>();
            for (int i = 0; i < b.brokers; i++) {
                EmbeddedKafkaBroker.Builder nb = EmbeddedKafkaBroker.builder().host(b.host).port(ports[i])
                        .controllerPort(controllerPorts[i]).dataDir(this.dataDir.resolve("node-" + (i + 1)))
                        .clusterNode(i + 1, quorum, clusterId, b.brokers);
                // a stopping broker does not ask the controller to move its leaderships first: that needs a
                // controller quorum, which the last nodes of a cluster closing together no longer have (each
                // then waited 5 minutes); the controller fences a silent broker after its session timeout
                nb.brokerProperty("controlled.shutdown.enable", "false");
                nb.brokerProperty("broker.session.timeout.ms", "6000");
                nb.brokerProperty("broker.heartbeat.interval.ms", "1000");
                b.overrides.forEach(nb::brokerProperty);
                nodes.add(nb.build());
            }
            this.brokers = List.copyOf(nodes);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the embedded cluster's directories or ports", e);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts every broker that is not running, together (a node's start returns once it is unfenced, which
     * needs a controller quorum: a majority of the nodes), and returns once all serve.
     */
    public EmbeddedKafkaCluster start() {
        long t0 = System.nanoTime();
        List<CompletableFuture<EmbeddedKafkaBroker>> starts = brokers.stream()
                .map(node -> CompletableFuture.supplyAsync(node::start))
                .toList();
        try {
            CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).join();
        } catch (CompletionException e) {
            close();
            throw new IllegalStateException("embedded Kafka cluster failed to start: " + e.getCause().getMessage(), e.getCause());
        }
        LOG.info("Kafka cluster of {} brokers ready at {} in {} ms", brokers.size(), bootstrapServers(),
                (System.nanoTime() - t0) / 1_000_000);
        return this;
    }

    /** Stops every broker, keeping the data, the last ones together (a broker stopping alone waits for a quorum). */
    public void stop() {
        brokers.stream().map(node -> CompletableFuture.runAsync(node::stop)).toList()
                .forEach(CompletableFuture::join);
    }

    /** Stops every broker and deletes the data if it was a temporary directory. */
    @Override
    public void close() {
        stop();
        if (deleteOnClose) {
            try {
                Utils.delete(dataDir.toFile());
            } catch (IOException e) {
                LOG.warn("could not delete the embedded cluster's data in {}: {}", dataDir, e.toString());
            }
        }
    }

    /** {@code host:port,...} of every broker, running or not (clients find the live ones). */
    public String bootstrapServers() {
        return brokers.stream().map(EmbeddedKafkaBroker::bootstrapServers).collect(Collectors.joining(","));
    }

    /** How many brokers the cluster has. */
    public int size() {
        return brokers.size();
    }

    /** The broker with this {@code node.id} (1..N). */
    public EmbeddedKafkaBroker broker(int nodeId) {
        if (nodeId < 1 || nodeId > brokers.size()) {
            throw new IllegalArgumentException("no broker " + nodeId + " in a cluster of " + brokers.size());
        }
        return brokers.get(nodeId - 1);
    }

    /** Every broker, by node id. */
    public List<EmbeddedKafkaBroker> brokers() {
        return brokers;
    }

    /** The replication rehearsal's topics get on this cluster. */
    public Replication replication() {
        return Replication.forBrokers(brokers.size());
    }

    public Path dataDir() {
        return dataDir;
    }

    /** Options for an {@link EmbeddedKafkaCluster}. */
    public static final class Builder {
        private int brokers = 3;
        private Path dataDir;
        private String host = "localhost";
        private int port;
        private final Map<String, String> overrides = new java.util.LinkedHashMap<>();

        private Builder() {
        }

        /** How many brokers (default 3). */
        public Builder brokers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("a cluster has at least one broker, got " + n);
            }
            this.brokers = n;
            return this;
        }

        /** Keep data here, a directory per node (kept on close); default a temporary directory deleted on close. */
        public Builder dataDir(Path dir) {
            this.dataDir = dir;
            return this;
        }

        /** The first broker's client port, the others following it; 0 (default) picks free ones. */
        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public Builder host(String host) {
            this.host = host;
            return this;
        }

        /** Any broker property for every node, applied last. */
        public Builder brokerProperty(String key, String value) {
            overrides.put(key, value);
            return this;
        }

        public EmbeddedKafkaCluster build() {
            return new EmbeddedKafkaCluster(this);
        }
    }
}
