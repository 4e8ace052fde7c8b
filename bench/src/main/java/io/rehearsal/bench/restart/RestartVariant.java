package io.rehearsal.bench.restart;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A curator configuration to restart: the Kafka client properties it runs with (on top of {@code
 * CuratorApp}'s own) and how many instances share the work.
 *
 * @param name       short name for the report
 * @param properties extra Streams properties ({@code --kafka-config}); {@value #INSTANCE_ID} stands for a
 *                   stable id of each instance
 * @param instances  curator processes (2 for standby replicas: a single instance cannot hold a standby of
 *                   its own shard)
 * @param what       one line for the report
 */
public record RestartVariant(String name, Map<String, String> properties, int instances, String what) {
    /** Replaced by the instance's stable id in {@link #properties}. */
    public static final String INSTANCE_ID = "${instance}";
    private static final String TXN = "enable.transactional.statestores";
    private static final String ID = "group.instance.id";

    public RestartVariant {
        properties = Map.copyOf(properties);
    }

    /** The variants by name. */
    public static Map<String, RestartVariant> all() {
        Map<String, RestartVariant> m = new LinkedHashMap<>();
        for (RestartVariant v : List.of(
                new RestartVariant("default", Map.of(), 1, "what `rehearsal curator` runs with, nothing added"),
                new RestartVariant("plain", Map.of(TXN, "false", ID, ""), 1,
                        "dynamic membership, no transactional stores, no standby (the curator before issue #14)"),
                new RestartVariant("txn", Map.of(TXN, "true", ID, ""), 1, "enable.transactional.statestores=true (KIP-892)"),
                new RestartVariant("static", Map.of(TXN, "false", ID, INSTANCE_ID), 1,
                        "group.instance.id (static membership)"),
                new RestartVariant("static+txn", Map.of(TXN, "true", ID, INSTANCE_ID), 1,
                        "static membership and transactional stores"),
                new RestartVariant("standby", Map.of(TXN, "false", ID, "", "num.standby.replicas", "1"), 2,
                        "num.standby.replicas=1 with a second instance to hold the standby"))) {
            m.put(v.name(), v);
        }
        return m;
    }

    /** The properties of instance {@code id}. */
    public Map<String, String> propertiesFor(String id) {
        Map<String, String> out = new LinkedHashMap<>();
        properties.forEach((k, v) -> out.put(k, v.replace(INSTANCE_ID, id)));
        return out;
    }
}
