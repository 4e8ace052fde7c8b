package io.rehearsal.bench.perf;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The glibc malloc settings the {@code ./rehearsal} launcher gives the JVM, for the benchmark's child
 * processes, rehearsal's and its peer's alike. Without them glibc hands large freed blocks back to the
 * OS and a training step page-faults its activations in again every time (a third of a CNN step here,
 * in DJL and in PyTorch alike).
 */
final class NativeEnv {
    static final Map<String, String> MALLOC = malloc();

    private NativeEnv() {
    }

    private static Map<String, String> malloc() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("MALLOC_TRIM_THRESHOLD_", "1073741824");
        env.put("MALLOC_MMAP_THRESHOLD_", "33554432");
        env.put("MALLOC_TOP_PAD_", "268435456");
        // what this process was started with wins (the launcher's, or the user's)
        env.replaceAll((k, v) -> System.getenv().getOrDefault(k, v));
        return Map.copyOf(env);
    }

    /** "MALLOC_TRIM_THRESHOLD_=... ..." for reports. */
    static String describe() {
        StringBuilder b = new StringBuilder();
        new java.util.TreeMap<>(MALLOC).forEach((k, v) -> b.append(b.length() == 0 ? "" : " ").append(k).append('=').append(v));
        return b.toString();
    }
}
