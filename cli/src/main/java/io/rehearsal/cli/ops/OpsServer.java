package io.rehearsal.cli.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoints every rehearsal process serves for operators: {@code /metrics} (Prometheus text
 * format), {@code /health} (liveness: the process answers) and {@code /ready} (readiness: the component
 * says it can do its work, e.g. the Streams client is RUNNING or a model is loaded). Components add
 * their own routes (the predictor's {@code POST /predict}) with {@link #route}.
 */
public final class OpsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpsServer.class);

    static {
        // The JDK's HttpServer leaves Nagle's algorithm on unless told otherwise (read once, when its first
        // server is created): every small answer then waits ~40 ms for the client's delayed ACK, which made
        // POST /predict take 44 ms instead of well under 1 ms.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
    }

    private final HttpServer server;
    private final ExecutorService executor;

    private OpsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Starts serving on {@code host:port} (port 0 picks a free one).
     *
     * @param ready readiness check, called on each {@code /ready} request
     */
    public static OpsServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier ready) {
        try {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 64);
            ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
                Thread t = new Thread(r, "ops-http");
                t.setDaemon(true);
                return t;
            });
            server.setExecutor(executor);
            OpsServer ops = new OpsServer(server, executor);
            ops.route("/metrics", exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
            ops.route("/health", exchange -> respond(exchange, 200, "text/plain", "ok\n"));
            ops.route("/ready", exchange -> {
                boolean ok = ready.getAsBoolean();
                respond(exchange, ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready\n");
            });
            server.start();
            LOG.info("metrics at http://{}:{}/metrics (also /health, /ready)", host.equals("0.0.0.0") ? "localhost" : host,
                    server.getAddress().getPort());
            return ops;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage()
                    + " (is the port taken? use --metrics-port)", e);
        }
    }

    /** Adds a handler; it runs on the server's small thread pool. */
    public OpsServer route(String path, HttpHandler handler) {
        server.createContext(path, exchange -> {
            try (exchange) {
                handler.handle(exchange);
            } catch (RuntimeException e) {
                LOG.warn("{} {} failed: {}", exchange.getRequestMethod(), path, e.toString());
                respond(exchange, 500, "text/plain", "internal error: " + e.getMessage() + "\n");
            }
        });
        return this;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Writes a complete response. */
    public static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }
}
