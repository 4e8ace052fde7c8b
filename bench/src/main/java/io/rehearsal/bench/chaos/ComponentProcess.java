package io.rehearsal.bench.chaos;

import io.rehearsal.cli.Main;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.TimeUnit;

/**
 * One rehearsal component ({@code rehearsal curator}, {@code rehearsal trainer}, ...) in its own JVM, run
 * from this JVM's class path, so that the chaos controller can kill it with a real SIGKILL
 * ({@link Process#destroyForcibly()} on Linux) at any instruction, mid-transaction included, and start
 * it again as a supervisor (Kubernetes) would. Each incarnation logs to {@code <name>-<n>.log} and serves
 * its metrics on a port of its own, so a killed one never blocks the next.
 */
public final class ComponentProcess implements AutoCloseable {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();

    private final String name;
    private final List<String> arguments;
    private final Map<String, String> environment;
    private final Path logDir;
    private final String heap;
    private Process process;
    private int incarnation;
    private int metricsPort;
    private long startedNanos;

    /**
     * @param name        for log files, e.g. "trainer"
     * @param arguments   the subcommand and its options, without {@code --metrics-port} (added here)
     * @param environment extra environment variables (e.g. {@code REHEARSAL_KAFKA_*})
     */
    public ComponentProcess(String name, List<String> arguments, Map<String, String> environment, Path logDir, String heap) {
        this.name = name;
        this.arguments = List.copyOf(arguments);
        this.environment = Map.copyOf(environment);
        this.logDir = logDir;
        this.heap = heap;
    }

    /** Starts the next incarnation. */
    public synchronized void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException(name + " is already running (pid " + process.pid() + ")");
        }
        incarnation++;
        metricsPort = freePort();
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx" + heap,
                "-XX:+ExitOnOutOfMemoryError",
                "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro", "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(arguments);
        command.addAll(List.of("--metrics-host", "127.0.0.1", "--metrics-port", Integer.toString(metricsPort)));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(logDir.resolve(name + "-" + incarnation + ".log").toFile());
        pb.environment().putAll(environment);
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + name + ": " + e.getMessage(), e);
        }
        startedNanos = System.nanoTime();
    }

    /** SIGKILL: no shutdown hook, no flush, no commit; waits until the process is gone. */
    public synchronized void kill() throws InterruptedException {
        if (process != null) {
            process.destroyForcibly();
            process.waitFor();
        }
    }

    /** SIGTERM, as Kubernetes stops a pod; SIGKILL if it has not exited within {@code grace}. Returns the exit code. */
    public synchronized int stop(Duration grace) throws InterruptedException {
        if (process == null) {
            return 0;
        }
        process.destroy();
        if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            process.waitFor();
        }
        return process.exitValue();
    }

    public synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** The exit code if the current incarnation has exited. */
    public synchronized Integer exitCode() {
        return process == null || process.isAlive() ? null : process.exitValue();
    }

    public String name() {
        return name;
    }

    public synchronized int incarnation() {
        return incarnation;
    }

    public synchronized Path log() {
        return logDir.resolve(name + "-" + incarnation + ".log");
    }

    /** The last {@code lines} lines of the current incarnation's log (for failure messages; the log may be gone later). */
    public String logTail(int lines) {
        try {
            List<String> all = java.nio.file.Files.readAllLines(log(), java.nio.charset.StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "(cannot read " + log() + ": " + e + ")";
        }
    }

    /** Whether the current incarnation's log has a line containing {@code text}. */
    public boolean logContains(String text) {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(log(), java.nio.charset.StandardCharsets.UTF_8)) {
            return lines.anyMatch(l -> l.contains(text));
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    /** The port the current incarnation serves /metrics, /health and /ready on (and the predictor its API). */
    public synchronized int metricsPort() {
        return metricsPort;
    }

    /** How long the current incarnation has been running. */
    public synchronized Duration uptime() {
        return Duration.ofNanos(System.nanoTime() - startedNanos);
    }

    /** Whether the current incarnation answers {@code GET /ready} with 200 (false while it is not listening). */
    public boolean ready() {
        return status("/ready") == 200;
    }

    /** The HTTP status of {@code GET path} on the current incarnation's metrics port, or -1 if it does not answer. */
    public int status(String path) {
        int port;
        synchronized (this) {
            port = metricsPort;
        }
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /**
     * The sum of a Prometheus sample family of the current incarnation (e.g. {@code
     * rehearsal_trainer_steps_total}), or empty if the process does not answer (not up yet, or gone).
     */
    public OptionalDouble metric(String family) {
        int port;
        synchronized (this) {
            port = metricsPort;
        }
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                    .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return OptionalDouble.empty();
            }
            double sum = 0;
            boolean found = false;
            for (String line : r.body().split("\n")) {
                if (line.startsWith(family + "{") || line.startsWith(family + " ")) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                    found = true;
                }
            }
            return found ? OptionalDouble.of(sum) : OptionalDouble.empty();
        } catch (IOException e) {
            return OptionalDouble.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalDouble.empty();
        }
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the metrics of a component", e);
        }
    }
}
