package io.rehearsal.bench.perf;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A benchmark child process spoken to line by line: a command on its stdin, one answer line
 * ({@code result ...}, {@code info ...} or {@code error ...}) on its stdout; anything else it prints is
 * ignored, its stderr goes to a log file. Lets {@code bench perf} interleave rehearsal and its peer.
 */
final class ServeProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Writer in;
    private final BlockingQueue<String> answers = new ArrayBlockingQueue<>(64);

    ServeProcess(String name, List<String> command, Map<String, String> env, List<String> unsetEnv, Path log)
            throws IOException {
        this.name = name;
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()));
        unsetEnv.forEach(pb.environment()::remove);
        pb.environment().putAll(env);
        this.process = pb.start();
        this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = out.readLine()) != null; ) {
                    if (line.startsWith("result ") || line.startsWith("info ") || line.startsWith("error ")) {
                        answers.put(line);
                    }
                }
            } catch (IOException | InterruptedException e) {
                // the process ended; ask() reports it
            }
        }, name + "-stdout");
        reader.setDaemon(true);
        reader.start();
    }

    /** Sends one command and waits for its answer. */
    String ask(String command, long timeoutSeconds) throws IOException, InterruptedException {
        in.write(command + "\n");
        in.flush();
        String answer = answers.poll(timeoutSeconds, TimeUnit.SECONDS);
        if (answer == null) {
            throw new IOException(name + " gave no answer to '" + command + "' within " + timeoutSeconds + " s"
                    + (process.isAlive() ? "" : " (it exited with " + process.exitValue() + "; see its log)"));
        }
        if (answer.startsWith("error ")) {
            throw new IOException(name + " failed '" + command + "': " + answer.substring(6));
        }
        return answer;
    }

    /** {@code result <model> <batch> <views> <samples/s> <p50 ms> <mean ms>} as numbers (samples/s, p50, mean). */
    static double[] timing(String result) {
        String[] w = result.trim().split("\\s+");
        return new double[] {Double.parseDouble(w[4]), Double.parseDouble(w[5]), Double.parseDouble(w[6])};
    }

    @Override
    public void close() {
        try {
            in.write("quit\n");
            in.flush();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroy();
            }
        } catch (IOException e) {
            process.destroy();
        } catch (InterruptedException e) {
            process.destroy();
            Thread.currentThread().interrupt();
        }
    }
}
