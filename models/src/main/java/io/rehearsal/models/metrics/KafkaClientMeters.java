package io.rehearsal.models.metrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * A component's Kafka consumers and producers, bound to its registry with Micrometer's
 * {@link KafkaClientMetrics}: {@code kafka_consumer_*} (among them
 * {@code kafka_consumer_fetch_manager_records_lag{topic,partition}}, the lag alerts' source) and
 * {@code kafka_producer_*}, tagged with the client id.
 *
 * <p>The clients' metrics are rescanned every {@value #REFRESH_SECONDS} s, not Micrometer's default
 * 60 s: per-partition metrics such as the lag only exist once partitions are assigned, after start.
 * {@link #close} removes the meters; close it before the clients.
 */
public final class KafkaClientMeters implements AutoCloseable {
    static final int REFRESH_SECONDS = 5;

    private final MeterRegistry registry;
    private final ScheduledExecutorService scheduler;
    private final List<KafkaClientMetrics> bound = new ArrayList<>();

    /** @param threadName name of the thread that rescans the clients' metrics */
    public KafkaClientMeters(MeterRegistry registry, String threadName) {
        this.registry = registry;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Binds a consumer's metrics. */
    public synchronized KafkaClientMeters bind(Consumer<?, ?> consumer) {
        return bind(new KafkaClientMetrics(consumer, Tags.empty(), scheduler, Duration.ofSeconds(REFRESH_SECONDS)));
    }

    /** Binds a producer's metrics. */
    public synchronized KafkaClientMeters bind(Producer<?, ?> producer) {
        return bind(new KafkaClientMetrics(producer, Tags.empty(), scheduler, Duration.ofSeconds(REFRESH_SECONDS)));
    }

    private KafkaClientMeters bind(KafkaClientMetrics metrics) {
        metrics.bindTo(registry);
        bound.add(metrics);
        return this;
    }

    @Override
    public synchronized void close() {
        try {
            bound.forEach(KafkaClientMetrics::close);
            bound.clear();
        } finally {
            scheduler.shutdownNow();
        }
    }
}
