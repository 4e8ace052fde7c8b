package io.rehearsal.streams;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.streams.bench.CuratorBenchmark;
import java.nio.file.Files;
import java.util.Map;

/**
 * Runs {@link CuratorBenchmark} against an in-process broker (or {@code args[1]}, bootstrap servers).
 * Argument 0: number of samples (default 20,000).
 */
public final class CuratorBenchmarkMain {
    private CuratorBenchmarkMain() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 20_000;
        if (args.length > 1) {
            System.out.println(CuratorBenchmark.run(Map.of("bootstrap.servers", args[1]), n,
                    CuratorBenchmark.defaultSettings(), Files.createTempDirectory("curator-bench-")).report());
            return;
        }
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().build().start()) {
            System.out.println(CuratorBenchmark.run(Map.of("bootstrap.servers", broker.bootstrapServers()), n,
                    CuratorBenchmark.defaultSettings(), Files.createTempDirectory("curator-bench-")).report());
        }
    }
}
