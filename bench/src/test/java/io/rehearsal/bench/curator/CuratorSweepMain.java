package io.rehearsal.bench.curator;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.curator.CuratorBenchmark;
import io.rehearsal.bench.curator.CuratorBenchmark.Encoding;
import io.rehearsal.bench.curator.CuratorBenchmark.Options;
import io.rehearsal.bench.curator.ThreadCpu;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares Kafka Streams configurations of the curator in one warm JVM, round robin: args are
 * samples, warm-up, rounds, encoding, then one configuration per argument as {@code k=v,k=v} ("-" = none).
 * Fashion-MNIST pixels when Debian's dataset-fashion-mnist is installed, else random ones.
 */
public final class CuratorSweepMain {
    private CuratorSweepMain() {
    }

    /** Fashion-MNIST training images from Debian's dataset-fashion-mnist, or null (random pixels). */
    private static byte[][] fashionMnist() throws java.io.IOException {
        java.nio.file.Path f = java.nio.file.Path.of("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
        if (!Files.exists(f)) {
            return null;
        }
        try (java.io.DataInputStream in = new java.io.DataInputStream(new java.util.zip.GZIPInputStream(Files.newInputStream(f)))) {
            in.readInt();
            int n = Math.min(in.readInt(), 20_000);
            in.readInt();
            in.readInt();
            byte[][] out = new byte[n][784];
            for (byte[] image : out) {
                in.readFully(image);
            }
            return out;
        }
    }

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        int warmup = Integer.parseInt(args[1]);
        int rounds = Integer.parseInt(args[2]);
        Encoding enc = Encoding.valueOf(args[3]);
        List<Map<String, Object>> configs = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            Map<String, Object> c = new HashMap<>();
            if (!args[i].equals("-")) {
                for (String kv : args[i].split(",")) {
                    String[] p = kv.split("=", 2);
                    c.put(p[0], p[1]);
                }
            }
            configs.add(c);
        }
        byte[][] images = fashionMnist();
        java.util.function.LongFunction<byte[]> source = images == null ? null : i -> images[(int) (i % images.length)];
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            Map<String, Object> client = Map.of("bootstrap.servers", broker.bootstrapServers());
            CuratorBenchmark.run(client, Options.defaults(enc, 8000, 4000).withImages(source), Files.createTempDirectory("curator-sweep-"));
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < configs.size(); i++) {
                    CuratorBenchmark.Result res = CuratorBenchmark.run(client,
                            Options.defaults(enc, n, warmup).withStreamsConfig(configs.get(i)).withImages(source),
                            Files.createTempDirectory("curator-sweep-"));
                    System.out.printf(Locale.ROOT, "round %d config %d %-60s %,8.0f samples/s  stream %6.1f  prodIO %5.1f  broker %6.1f  jit %6.1f us/sample  commit %.2f process %.2f%n",
                            r, i, args[4 + i], res.samplesPerSecond(), res.cpuMicrosPerSample(ThreadCpu.STREAM_THREADS),
                            res.cpuMicrosPerSample(ThreadCpu.CURATOR_PRODUCER), res.cpuMicrosPerSample(ThreadCpu.BROKER),
                            res.cpuMicrosPerSample(ThreadCpu.JVM), res.threadLoad().getOrDefault("commit", 0.0),
                            res.threadLoad().getOrDefault("process", 0.0));
                }
            }
        }
    }
}
