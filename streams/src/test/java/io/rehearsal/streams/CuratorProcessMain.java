package io.rehearsal.streams;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.Topics;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * A curator in its own JVM, for {@link CuratorRestartIT} to kill with SIGKILL. Arguments: bootstrap
 * servers, topic prefix, state directory. Runs {@link CuratorRestartIT#settings()} until killed.
 */
public final class CuratorProcessMain {
    private CuratorProcessMain() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(StreamsConfig.STATE_DIR_CONFIG, args[2]);
        // a killed instance's partitions and open transaction must be released quickly
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
        props.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1000);
        props.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG), 5000);
        CuratorApp app = new CuratorApp(CuratorRestartIT.settings(), new Topics(args[1], 1), props, new SimpleMeterRegistry());
        app.start();
        System.out.println("curator started");
        new CountDownLatch(1).await();
    }
}
