package io.rehearsal.cli;

import com.sun.net.httpserver.HttpHandler;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.cli.ops.MetricsRegistry;
import io.rehearsal.cli.ops.OpsServer;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import org.apache.kafka.clients.admin.Admin;

/**
 * What every long-running subcommand shares: a Prometheus registry with JVM meters, the ops HTTP
 * server, and topic creation. The subcommand owns its component's lifecycle; this owns the rest.
 */
final class ComponentRuntime implements AutoCloseable {
    private final PrometheusMeterRegistry registry;
    private final AtomicBoolean ready = new AtomicBoolean();
    private OpsServer server;

    private ComponentRuntime(String component) {
        this.registry = MetricsRegistry.create(component);
    }

    /** Registry now; the HTTP server starts with {@link #serve}. */
    static ComponentRuntime create(String component) {
        return new ComponentRuntime(component);
    }

    PrometheusMeterRegistry registry() {
        return registry;
    }

    /** Serves /metrics, /health and /ready; ready when {@code readiness} says so. */
    OpsServer serve(OpsOptions ops, BooleanSupplier readiness) {
        return serve(ops, readiness, Map.of());
    }

    /**
     * Serves /metrics, /health, /ready and the component's own {@code routes} (all of them from the first
     * request on); ready when {@code readiness} says so.
     */
    OpsServer serve(OpsOptions ops, BooleanSupplier readiness, Map<String, HttpHandler> routes) {
        return serve(ops, readiness, routes, Optional.empty());
    }

    /** As {@link #serve(OpsOptions, BooleanSupplier, Map)}, over TLS when {@code tls} is given. */
    OpsServer serve(OpsOptions ops, BooleanSupplier readiness, Map<String, HttpHandler> routes, Optional<SSLContext> tls) {
        server = OpsServer.start(ops.metricsHost, ops.metricsPort, registry, () -> ready.get() && readiness.getAsBoolean(),
                routes, tls);
        ready.set(true);
        return server;
    }

    /** Creates the missing topics among {@code topics} unless told not to (operator-managed clusters). */
    static void ensureTopics(KafkaOptions kafka, OpsOptions ops, Collection<Topic<?, ?>> topics) {
        if (ops.noCreateTopics) {
            return;
        }
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            new TopicAdmin(admin).ensure(topics);
        }
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        registry.close();
    }
}
