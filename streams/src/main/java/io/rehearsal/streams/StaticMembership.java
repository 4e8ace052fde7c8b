package io.rehearsal.streams;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The curator's {@code group.instance.id}: with static membership a curator restarted after SIGKILL takes its
 * shards back at once, where a new dynamic member waits until the group coordinator gives up on the dead one
 * ({@code session.timeout.ms}, 45 s by default; that wait was most of the 45 s restarts of issue #14, see
 * docs/reliability.md). The id must be stable across restarts of one instance and unique among live ones: it
 * is the application id, the host name (a Kubernetes pod's name) and a hash of the absolute state directory
 * (two instances on one host must use different state directories anyway). Set {@code group.instance.id}
 * yourself to choose it, or to an empty value for dynamic membership.
 */
final class StaticMembership {
    private StaticMembership() {
    }

    /** Puts the derived id into {@code p} unless it names one; removes an empty one. */
    static void apply(Properties p) {
        Object given = p.get(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
        if (given != null) {
            if (given.toString().isBlank()) {
                p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
            }
            return;
        }
        Object dir = p.getOrDefault(StreamsConfig.STATE_DIR_CONFIG,
                StreamsConfig.configDef().defaultValues().get(StreamsConfig.STATE_DIR_CONFIG));
        p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, id(p.getProperty(StreamsConfig.APPLICATION_ID_CONFIG), hostName(),
                Path.of(dir.toString())));
    }

    /** {@code <application id>-<host>-<8 hex digits of the state directory's SHA-256>}. */
    static String id(String applicationId, String host, Path stateDir) {
        String safeHost = host.replaceAll("[^A-Za-z0-9._-]", "_");
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(
                    stateDir.toAbsolutePath().normalize().toString().getBytes(StandardCharsets.UTF_8));
            return applicationId + "-" + safeHost + "-" + HexFormat.of().formatHex(hash, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The host name: {@code HOSTNAME} (set in containers and pods), else the JVM's, else "localhost". */
    static String hostName() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }
}
