package io.rehearsal.models.net;

import io.rehearsal.testkit.Tool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Exports the networks of examples/models with Debian's python3-torch, as a user would (export.py). */
public final class ExampleModules {
    private ExampleModules() {
    }

    /** The repository's root (tests run in their module's directory). */
    public static Path repo() {
        Path here = Path.of("").toAbsolutePath();
        return Files.exists(here.resolve("examples")) ? here : here.getParent();
    }

    /** {@code export.py head --dim D --hidden H --classes K --seed S --dropout 0}: an MLP head over D-vectors. */
    public static TorchScriptModule head(Path dir, int dim, int hidden, int classes, long seed) {
        return export(dir, "head", "--dim", Integer.toString(dim), "--hidden", Integer.toString(hidden), "--classes",
                Integer.toString(classes), "--seed", Long.toString(seed), "--dropout", "0");
    }

    /** {@code export.py resnet --widths W --classes K --seed S}: the small ResNet for 1x28x28 images. */
    public static TorchScriptModule resnet(Path dir, String widths, int classes, long seed) {
        return export(dir, "resnet", "--widths", widths, "--classes", Integer.toString(classes), "--seed",
                Long.toString(seed));
    }

    /** Runs export.py with {@code args} and reads the module it wrote. */
    public static TorchScriptModule export(Path dir, String arch, String... args) {
        Path out = dir.resolve(arch + "-" + System.nanoTime() + ".pt");
        List<String> command = new ArrayList<>(List.of(Tool.python(),
                repo().resolve("examples/models/export.py").toString(), arch, "--out", out.toString()));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException("export.py failed: " + command + "\n" + output);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        return TorchScriptModule.read(out);
    }
}
