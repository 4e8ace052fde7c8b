package io.rehearsal.cli;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.broker.EmbeddedKafkaCluster;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rehearsal broker}: a single-node Kafka broker (or a cluster of several) in the foreground until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run a single-node Kafka (KRaft) broker, or a cluster of several, in this process until Ctrl-C, "
                + "and create rehearsal's topics.")
final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "9092",
            description = "Client port (default: ${DEFAULT-VALUE}); with --brokers N the brokers take N consecutive ports from it.")
    int port;

    @Option(names = "--controller-port", defaultValue = "0", description = "Controller port of a single broker; 0 picks a free one.")
    int controllerPort;

    @Option(names = "--brokers", defaultValue = "1",
            description = "Brokers in the cluster (default: ${DEFAULT-VALUE}). From 3 on, topics get 3 replicas and "
                    + "min.insync.replicas 2, as in production.")
    int brokers;

    @Option(names = "--data-dir", description = "Keep the broker's data here across restarts (default: a temporary directory, deleted on exit).")
    Path dataDir;

    @Option(names = "--topic-prefix", defaultValue = Topics.DEFAULT_PREFIX, description = "Prefix of rehearsal's topics (default: ${DEFAULT-VALUE}).")
    String prefix;

    @Option(names = "--partitions", defaultValue = "" + Topics.DEFAULT_INPUT_PARTITIONS,
            description = "Partitions of the input topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--no-topics", description = "Do not create rehearsal's topics.")
    boolean noTopics;

    @Override
    public Integer call() throws InterruptedException {
        if (brokers < 1) {
            System.err.println("--brokers must be at least 1, got " + brokers);
            return 2;
        }
        String bootstrap;
        String ready;
        StopOnSignal stopped;
        if (brokers == 1) {
            EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(port).controllerPort(controllerPort).dataDir(dataDir).build();
            stopped = StopOnSignal.install("broker", broker::close);
            broker.start();
            bootstrap = broker.bootstrapServers();
            ready = String.format("Kafka broker ready at %s (started in %d ms)", bootstrap, broker.lastStartTime().toMillis());
        } else {
            EmbeddedKafkaCluster cluster = EmbeddedKafkaCluster.builder().brokers(brokers).port(port).dataDir(dataDir).build();
            stopped = StopOnSignal.install("broker", cluster::close);
            long t0 = System.nanoTime();
            cluster.start();
            bootstrap = cluster.bootstrapServers();
            ready = String.format("Kafka cluster of %d brokers ready at %s (started in %d ms; replication factor %d, "
                    + "min.insync.replicas %d)", brokers, bootstrap, (System.nanoTime() - t0) / 1_000_000,
                    cluster.replication().factor(), cluster.replication().minInSyncReplicas());
        }
        if (!noTopics) {
            try (Admin admin = Admin.create(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
                TopicAdmin.Report report = new TopicAdmin(admin).ensure(new Topics(prefix, partitions).all());
                System.out.printf("topics: %d created, %d existing, %d drifted%n",
                        report.created().size(), report.existing().size(), report.drifts().size());
            }
        }
        System.out.println(ready + ". Ctrl-C stops it.");
        stopped.await();
        return 0;
    }
}
