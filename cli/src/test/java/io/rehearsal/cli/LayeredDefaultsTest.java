package io.rehearsal.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class LayeredDefaultsTest {

    @Command(name = "trainer")
    static final class Probe implements Runnable {
        @Option(names = "--snapshot-every-steps", defaultValue = "100")
        long steps;
        @Option(names = "--model-id", defaultValue = "default")
        String model;
        @Option(names = "--lr", defaultValue = "0.05")
        float lr;

        @Override
        public void run() {
        }
    }

    @Test
    void shouldLayerBuiltInDefaultThenFileThenEnvironmentThenFlag() {
        Properties file = new Properties();
        file.setProperty("trainer.snapshot-every-steps", "50");
        file.setProperty("model-id", "from-file");
        file.setProperty("lr", "0.2");
        Map<String, String> env = Map.of("REHEARSAL_MODEL_ID", "from-env");
        Probe probe = new Probe();

        new CommandLine(probe).setDefaultValueProvider(new LayeredDefaults(env, file)).parseArgs("--lr", "0.01");

        assertThat(probe.steps).isEqualTo(50);        // file, command-scoped key
        assertThat(probe.model).isEqualTo("from-env"); // environment beats file
        assertThat(probe.lr).isEqualTo(0.01f);          // flag beats everything
    }

    @Test
    void shouldKeepTheBuiltInDefaultWhenNothingElseSaysOtherwise() {
        Probe probe = new Probe();

        new CommandLine(probe).setDefaultValueProvider(new LayeredDefaults(Map.of(), new Properties())).parseArgs();

        assertThat(probe.steps).isEqualTo(100);
        assertThat(probe.model).isEqualTo("default");
    }
}
