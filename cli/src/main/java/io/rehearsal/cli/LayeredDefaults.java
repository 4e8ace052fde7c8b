package io.rehearsal.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Option values come from, later winning: the built-in default, a properties file, the environment,
 * then the command line. For an option {@code --snapshot-every-steps} of {@code rehearsal trainer}:
 * <ul>
 *   <li>the file named by {@code REHEARSAL_CONFIG} (or {@code -Drehearsal.config}), key
 *       {@code trainer.snapshot-every-steps} or, for all commands, {@code snapshot-every-steps};</li>
 *   <li>the environment variable {@code REHEARSAL_SNAPSHOT_EVERY_STEPS};</li>
 *   <li>the flag itself.</li>
 * </ul>
 * So a Kubernetes manifest can set a ConfigMap file or env vars, and a person can still override
 * anything on the command line.
 */
final class LayeredDefaults implements IDefaultValueProvider {
    private final Map<String, String> env;
    private final Properties file;

    LayeredDefaults(Map<String, String> env, Properties file) {
        this.env = env;
        this.file = file;
    }

    static LayeredDefaults fromEnvironment() {
        Map<String, String> env = System.getenv();
        String path = System.getProperty("rehearsal.config", env.get("REHEARSAL_CONFIG"));
        Properties file = new Properties();
        if (path != null && !path.isBlank()) {
            try (InputStream in = Files.newInputStream(Path.of(path))) {
                file.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the settings file " + path + " (REHEARSAL_CONFIG): " + e.getMessage(), e);
            }
        }
        return new LayeredDefaults(env, file);
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || !option.longestName().startsWith("--")) {
            return null;
        }
        String name = option.longestName().substring(2);
        String envName = "REHEARSAL_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
        String fromEnv = env.get(envName);
        if (fromEnv != null) {
            return fromEnv;
        }
        String command = option.command() == null ? null : option.command().name();
        String fromFile = command == null ? null : file.getProperty(command + "." + name);
        if (fromFile == null) {
            fromFile = file.getProperty(name);
        }
        return fromFile != null ? fromFile : option.defaultValue();
    }
}
