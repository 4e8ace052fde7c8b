package io.rehearsal.bench.console;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sends the log lines of the components running in this JVM (Kafka's broker, clients and Streams, the curator,
 * the trainer, the subscribers: everything that logs through slf4j-simple to {@code System.err}) to a file, and
 * lets through to the console only the warnings and errors someone can act on ({@link #actionable}), each once.
 *
 * <p>slf4j-simple writes to whatever {@code System.err} is at the time of each line (its output is not cached
 * unless told to), so replacing {@code System.err} for the length of a command moves every logger, including
 * those created before. A line printed on {@code System.err} that is not a log line (an uncaught exception's
 * trace header) reaches the console as well. Native libraries write to file descriptor 2 directly and are not
 * caught here: the {@code rehearsal} launcher drops the one line libtorch prints.
 */
public final class LogDiversion implements AutoCloseable {
    /**
     * A slf4j-simple line as cli's simplelogger.properties formats it: time, level, logger, message (and the thread in
     * brackets after the time, where a configuration shows it).
     */
    static final Pattern LOG_LINE = Pattern.compile(
            "^\\d{2}:\\d{2}:\\d{2}\\.\\d{3} (?:\\[[^\\]]*\\] )?(TRACE|DEBUG|INFO|WARN|ERROR) (\\S+) - (.*)$");
    /** The loggers whose warnings are written to say what to do: rehearsal's own. */
    static final String OURS = "io.rehearsal.";

    private final PrintStream console;
    private final PrintStream previous;
    private final Path file;
    private final Set<String> told = ConcurrentHashMap.newKeySet();
    private final OutputStream out;

    private LogDiversion(PrintStream console, PrintStream previous, Path file, OutputStream out) {
        this.console = console;
        this.previous = previous;
        this.file = file;
        this.out = out;
    }

    /**
     * Runs a command's {@code body} with its logs diverted to {@code file} in {@code directory} (created), the
     * actionable warnings to standard output, unless {@code console} asks for verbose output.
     */
    public static <T> T around(Path directory, String file, ConsoleOptions console, java.util.concurrent.Callable<T> body)
            throws Exception {
        Files.createDirectories(directory);
        try (LogDiversion logs = start(directory.resolve(file), System.out, console.verbose())) {
            return body.call();
        }
    }

    /**
     * Diverts {@code System.err} into {@code file} (appending) until {@link #close}; with {@code verbose} does
     * nothing, so logs stay on the console.
     *
     * @param console where the actionable warnings go (the console's standard output or error)
     */
    public static LogDiversion start(Path file, PrintStream console, boolean verbose) throws IOException {
        PrintStream previous = System.err;
        if (verbose) {
            return new LogDiversion(console, previous, null, null);
        }
        Files.createDirectories(file.toAbsolutePath().getParent());
        OutputStream fileOut = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        LogDiversion d = new LogDiversion(console, previous, file, fileOut);
        System.setErr(new PrintStream(d.new Lines(fileOut), true, StandardCharsets.UTF_8));
        return d;
    }

    /** The log file, or null when logs stay on the console. */
    public Path file() {
        return file;
    }

    /**
     * Whether this line goes to the console: a warning or error of rehearsal's own components (their messages say
     * what to do; Kafka's and DJL's stay in the file: retries at a new broker's start, DJL finding no CUDA on a CPU
     * machine), or an uncaught failure. Where the log format has short logger names (a JVM whose logging started
     * before the command), only uncaught failures reach the console.
     */
    static boolean actionable(String line) {
        Matcher m = LOG_LINE.matcher(line);
        if (m.matches()) {
            return (m.group(1).equals("WARN") || m.group(1).equals("ERROR")) && m.group(2).startsWith(OURS);
        }
        return line.startsWith("Exception in thread");
    }

    /** What the console shows for an actionable line: its level, message and class, without the time. */
    static String forConsole(String line) {
        Matcher m = LOG_LINE.matcher(line);
        if (!m.matches()) {
            return line;
        }
        String logger = m.group(2);
        return m.group(1).toLowerCase() + ": " + m.group(3) + " (" + logger.substring(logger.lastIndexOf('.') + 1) + ")";
    }

    private void line(String line) {
        if (actionable(line)) {
            String shown = forConsole(line);
            // once: the same message from two subscribers, or on every retry, is one warning
            if (told.add(shown.replaceAll("\\d+", "#"))) {
                console.println(shown + " [log: " + file + "]");
            }
        }
    }

    @Override
    public void close() throws IOException {
        if (out == null) {
            return;
        }
        System.err.flush();
        System.setErr(previous);
        out.close();
    }

    /** Writes everything to the file and hands each complete line to {@link #line}. */
    private final class Lines extends OutputStream {
        private final OutputStream file;
        private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

        Lines(OutputStream file) {
            this.file = file;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            file.write(b);
            take(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            file.write(b, off, len);
            for (int i = off; i < off + len; i++) {
                take(b[i]);
            }
        }

        private void take(int b) {
            if (b == '\n') {
                String s = pending.toString(StandardCharsets.UTF_8);
                pending.reset();
                line(s.endsWith("\r") ? s.substring(0, s.length() - 1) : s);
            } else {
                pending.write(b);
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            file.flush();
        }
    }
}
