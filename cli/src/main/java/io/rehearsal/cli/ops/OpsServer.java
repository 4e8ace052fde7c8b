package io.rehearsal.cli.ops;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.schemas.JsonCodec;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import javax.net.ssl.SSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoints every rehearsal process serves for operators: {@code GET /metrics} (Prometheus text
 * format), {@code GET /health} (liveness: the process is alive and answers HTTP; it says nothing about
 * whether the component can do its work) and {@code GET /ready} (readiness: the component can do its work
 * now, e.g. the Streams client is RUNNING, or a model is loaded and {@code POST /predict} answers).
 * Components add their own routes (the predictor's {@code POST /predict}) when the server starts, so that
 * nothing is ready before every route is served.
 *
 * <p>A path nobody serves answers 404 and a method a path does not take 405 (with {@code Allow}), each as
 * {@code {"error": REASON, "message": "what to do"}}, the same shape as the predictor's own errors.
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
    private final List<String> paths = new CopyOnWriteArrayList<>();

    private OpsServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /** Starts serving the operator endpoints only; see {@link #start(String, int, PrometheusMeterRegistry, BooleanSupplier, Map)}. */
    public static OpsServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier ready) {
        return start(host, port, registry, ready, Map.of());
    }

    /**
     * Starts serving on {@code host:port} (port 0 picks a free one).
     *
     * @param ready  readiness check, called on each {@code /ready} request
     * @param routes the component's own paths and their handlers, served from the first request on
     */
    public static OpsServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier ready,
                                  Map<String, HttpHandler> routes) {
        return start(host, port, registry, ready, routes, Optional.empty());
    }

    /**
     * Starts serving on {@code host:port}, over TLS when {@code tls} is given (the JDK's {@code HttpsServer}).
     *
     * @param tls the server's key and certificate ({@link ServerTls#context})
     */
    public static OpsServer start(String host, int port, PrometheusMeterRegistry registry, BooleanSupplier ready,
                                  Map<String, HttpHandler> routes, Optional<SSLContext> tls) {
        HttpServer server;
        try {
            if (tls.isPresent()) {
                HttpsServer https = HttpsServer.create(new InetSocketAddress(host, port), 64);
                https.setHttpsConfigurator(new HttpsConfigurator(tls.get()));
                server = https;
            } else {
                server = HttpServer.create(new InetSocketAddress(host, port), 64);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage()
                    + " (is the port taken? use --metrics-port)", e);
        }
        ExecutorService executor = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "ops-http");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        OpsServer ops = new OpsServer(server, executor);
        ops.route("/metrics", get(exchange -> respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape())));
        ops.route("/health", get(exchange -> respond(exchange, 200, "text/plain", "alive\n")));
        ops.route("/ready", get(exchange -> {
            boolean ok = ready.getAsBoolean();
            respond(exchange, ok ? 200 : 503, "text/plain", ok ? "ready\n" : "not ready\n");
        }));
        routes.forEach(ops::route);
        server.createContext("/", exchange -> {
            try (exchange) {
                ops.notFound(exchange);
            }
        });
        server.start();
        LOG.info("metrics at {}://{}:{}/metrics (also {})", tls.isPresent() ? "https" : "http",
                host.equals("0.0.0.0") ? "localhost" : host,
                server.getAddress().getPort(), String.join(", ", ops.paths.subList(1, ops.paths.size())));
        return ops;
    }

    /** Adds a handler for exactly {@code path}; it runs on the server's small thread pool. */
    public OpsServer route(String path, HttpHandler handler) {
        paths.add(path);
        server.createContext(path, exchange -> {
            try (exchange) {
                if (!exchange.getRequestURI().getPath().equals(path)) {
                    notFound(exchange); // the JDK matches by prefix: /predictions would reach /predict
                    return;
                }
                handler.handle(exchange);
            } catch (RuntimeException e) {
                LOG.warn("{} {} failed", exchange.getRequestMethod(), path, e);
                error(exchange, 500, "INTERNAL", exchange.getRequestMethod() + " " + path + " failed inside this process ("
                        + e.getClass().getSimpleName() + "); the process log has the details");
            }
        });
        return this;
    }

    /** A handler that answers only GET (and HEAD); any other method gets 405. */
    public static HttpHandler get(HttpHandler handler) {
        return exchange -> {
            String method = exchange.getRequestMethod();
            if (method.equals("GET") || method.equals("HEAD")) {
                handler.handle(exchange);
            } else {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                error(exchange, 405, "METHOD_NOT_ALLOWED", exchange.getRequestURI().getPath() + " takes GET, not " + method);
            }
        };
    }

    private void notFound(HttpExchange exchange) throws IOException {
        error(exchange, 404, "NOT_FOUND", "nothing is served at " + exchange.getRequestURI().getPath()
                + "; this process serves " + String.join(", ", paths));
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** Writes {@code {"error": error, "message": message}} with {@code status}. */
    public static void error(HttpExchange exchange, int status, String error, String message) throws IOException {
        String body;
        try {
            body = JsonCodec.mapper().writeValueAsString(JsonCodec.mapper().createObjectNode().put("error", error)
                    .put("message", message));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write an error answer as JSON", e);
        }
        respond(exchange, status, "application/json; charset=utf-8", body);
    }

    /** Writes a complete response (headers only for HEAD). */
    public static void respond(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        boolean empty = bytes.length == 0 || exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, empty ? -1 : bytes.length);
        if (!empty) {
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
