package io.rehearsal.cli;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rehearsal broker}: a single-node Kafka broker in the foreground until Ctrl-C. */
@Command(name = "broker", mixinStandardHelpOptions = true,
        description = "Run a single-node Kafka (KRaft) broker in this process until Ctrl-C, and create rehearsal's topics.")
final class BrokerCommand implements Callable<Integer> {
    @Option(names = "--port", defaultValue = "9092", description = "Client port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--controller-port", defaultValue = "0", description = "Controller port; 0 picks a free one.")
    int controllerPort;

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
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(port).controllerPort(controllerPort).dataDir(dataDir).build();
        StopOnSignal stopped = StopOnSignal.install("broker", broker::close);
        broker.start();
        if (!noTopics) {
            try (Admin admin = Admin.create(Map.of(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()))) {
                TopicAdmin.Report report = new TopicAdmin(admin).ensure(new Topics(prefix, partitions).all());
                System.out.printf("topics: %d created, %d existing, %d drifted%n",
                        report.created().size(), report.existing().size(), report.drifts().size());
            }
        }
        System.out.printf("Kafka broker ready at %s (started in %d ms). Ctrl-C stops it.%n",
                broker.bootstrapServers(), broker.lastStartTime().toMillis());
        stopped.await();
        return 0;
    }
}
