package io.rehearsal.bench.curator;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time of this JVM, summed by role: the curator's stream threads, their producers' I/O threads,
 * the in-process broker, the benchmark's own clients, and the JVM itself (JIT compilers and GC, which
 * are not Java threads: the process total minus the Java threads).
 */
public final class ThreadCpu {
    public static final String STREAM_THREADS = "curator stream threads";
    public static final String CURATOR_PRODUCER = "curator producer I/O";
    public static final String BROKER = "broker";
    public static final String BENCH_CLIENTS = "bench clients";
    public static final String JVM = "jit + gc";
    public static final String OTHER = "other";

    private ThreadCpu() {
    }

    /** Nanoseconds of CPU per role since the JVM started (threads that ended are missing). */
    public static Map<String, Long> roles() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        Map<String, Long> out = new TreeMap<>();
        long javaThreads = 0;
        for (long id : mx.getAllThreadIds()) {
            ThreadInfo info = mx.getThreadInfo(id);
            long ns = mx.getThreadCpuTime(id);
            if (info == null || ns < 0) {
                continue;
            }
            javaThreads += ns;
            out.merge(role(info.getThreadName()), ns, Long::sum);
        }
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            out.put(JVM, Math.max(0, os.getProcessCpuTime() - javaThreads));
        }
        return out;
    }

    static String role(String name) {
        if (name.contains("StreamThread")) {
            return name.contains("producer") ? CURATOR_PRODUCER : STREAM_THREADS;
        }
        if (name.startsWith("kafka-producer") || name.startsWith("kafka-coordinator") || name.equals("main")) {
            return BENCH_CLIENTS;
        }
        if (name.startsWith("data-plane") || name.startsWith("kafka-") || name.contains("Txn") || name.contains("quorum")
                || name.contains("coordinator") || name.contains("raft") || name.contains("log-cleaner")
                || name.contains("ExpirationReaper") || name.contains("AddPartitionsToTxn") || name.startsWith("controller-")
                || name.startsWith("broker-") || name.startsWith("LogDirFailureHandler") || name.contains("metadata")) {
            return BROKER;
        }
        return OTHER;
    }
}
