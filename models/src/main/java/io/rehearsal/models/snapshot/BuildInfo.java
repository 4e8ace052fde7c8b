package io.rehearsal.models.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.util.Properties;

/**
 * Where this code came from, for provenance: the project version and the git commit it was built from
 * (written into {@code io/rehearsal/models/build-info.properties} by the build; {@code -dirty} marks
 * uncommitted changes), and the host it runs on.
 */
public final class BuildInfo {
    private static final Properties PROPERTIES = load();
    private static volatile String host;

    private BuildInfo() {
    }

    public static String projectVersion() {
        return value("project.version");
    }

    public static String gitSha() {
        return value("git.sha");
    }

    /** The host name, or {@code HOSTNAME} from the environment, or {@code unknown}. */
    public static String host() {
        if (host == null) {
            String name;
            try {
                name = InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                name = System.getenv().getOrDefault("HOSTNAME", "unknown");
            }
            host = name;
        }
        return host;
    }

    private static String value(String key) {
        String v = PROPERTIES.getProperty(key, "unknown");
        return v.isBlank() || v.startsWith("${") ? "unknown" : v;
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = BuildInfo.class.getResourceAsStream("/io/rehearsal/models/build-info.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read build-info.properties", e);
        }
        return p;
    }
}
