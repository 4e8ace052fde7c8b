package io.rehearsal.cli;

import picocli.CommandLine.Option;

/** Where a process serves /metrics, /health and /ready (a picocli mixin). */
public final class OpsOptions {
    @Option(names = "--metrics-port", defaultValue = "9400", description = "Port of /metrics, /health, /ready (0 = a free one; default: ${DEFAULT-VALUE}).")
    int metricsPort;

    @Option(names = "--metrics-host", defaultValue = "0.0.0.0", description = "Interface to serve them on (default: ${DEFAULT-VALUE}).")
    String metricsHost;

    @Option(names = "--no-create-topics", description = "Do not create missing topics (when the cluster's operator owns them, e.g. Strimzi).")
    boolean noCreateTopics;
}
