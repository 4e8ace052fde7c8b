package io.rehearsal.bench.curator;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.bench.curator.CuratorBenchmark;
import io.rehearsal.bench.curator.CuratorBenchmark.Encoding;
import io.rehearsal.bench.curator.CuratorBenchmark.Options;
import java.nio.file.Files;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Runs {@link CuratorBenchmark} against an in-process broker: an in-process producer baseline and the
 * curator, for float32 then uint8 samples, back to back. {@code rehearsal bench perf} is the full
 * version (Kafka's ProducerPerformance as the peer). Arguments: samples (20,000), warm-up (5,000),
 * partitions (1), stream threads (1), then {@code key=value} Kafka Streams properties.
 */
public final class CuratorBenchmarkMain {
    private CuratorBenchmarkMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 5_000;
        int partitions = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        Map<String, Object> extra = new HashMap<>();
        for (int i = 4; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            extra.put(kv[0], kv[1]);
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            Map<String, Object> client = Map.of("bootstrap.servers", broker.bootstrapServers());
            for (Encoding e : Encoding.SMALL) {
                int bytes = CuratorBenchmark.recordBytes(e);
                double producer = CuratorBenchmark.producerBaseline(client, n, warmup, bytes);
                Options o = Options.defaults(e, n, warmup).withPartitions(partitions, threads).withStreamsConfig(extra);
                CuratorBenchmark.Result r = CuratorBenchmark.run(client, o, Files.createTempDirectory("curator-bench-"));
                System.out.printf(Locale.ROOT, "producer (in-process, acks=all), %d-byte records: %,.0f records/s%n", bytes, producer);
                System.out.print(r.report());
                System.out.printf(Locale.ROOT, "curator / producer: %.2f%n", r.samplesPerSecond() / producer);
            }
        }
    }
}
