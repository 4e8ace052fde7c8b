package io.rehearsal.models.net;

import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.engine.PtSymbolBlock;
import ai.djl.pytorch.jni.JniUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * A user's network: a TorchScript module file ({@code torch.jit.script(module).save(...)} or
 * {@code torch.jit.trace}) that maps a batch of inputs to logits, and its SHA-256, by which snapshots refer
 * to it ({@link ModelSpec#TORCHSCRIPT} with option {@code sha256}).
 *
 * <p>DJL's PyTorch engine loads it as a {@link PtSymbolBlock} with its parameters trainable (the
 * {@code trainParam} flag of {@link JniUtils#loadModule}); the parameters keep the module's own names
 * ({@code conv1.weight}, {@code head.bias}). Buffers that are not parameters (BatchNorm's running mean and
 * variance, {@code num_batches_tracked}) are not visible through DJL 0.36: they are neither trained nor
 * snapshotted, see docs/byo-models.md.
 */
public final class TorchScriptModule {
    private final byte[] bytes;
    private final String sha256;

    private TorchScriptModule(byte[] bytes) {
        if (bytes.length < 4 || bytes[0] != 'P' || bytes[1] != 'K') {
            throw new IllegalArgumentException("not a TorchScript module: a TorchScript file is a zip archive "
                    + "(torch.jit.script(module).save(path)), these " + bytes.length + " bytes are not");
        }
        this.bytes = bytes.clone();
        this.sha256 = sha256(bytes);
    }

    /** The module in {@code bytes} (a TorchScript zip archive). */
    public static TorchScriptModule of(byte[] bytes) {
        return new TorchScriptModule(Objects.requireNonNull(bytes, "bytes"));
    }

    /** The module saved at {@code file}. */
    public static TorchScriptModule read(Path file) {
        try {
            return of(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the TorchScript module " + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * The module an architecture argument names: {@code torchscript:<file>} (as the trainer's and {@code bench cl}'s
     * {@code --arch} take it); empty for the name of a built-in network.
     *
     * @throws IllegalArgumentException if it names no file, or the file is not a TorchScript module
     */
    public static Optional<TorchScriptModule> fromArch(String arch) {
        String prefix = ModelSpec.TORCHSCRIPT + ":";
        if (!arch.startsWith(prefix)) {
            if (arch.equals(ModelSpec.TORCHSCRIPT)) {
                throw new IllegalArgumentException("--arch torchscript needs the module file: --arch torchscript:model.pt");
            }
            return Optional.empty();
        }
        String file = arch.substring(prefix.length());
        if (file.isBlank()) {
            throw new IllegalArgumentException("--arch torchscript needs the module file: --arch torchscript:model.pt");
        }
        return Optional.of(read(Path.of(file)));
    }

    /** The module's bytes (a copy). */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int size() {
        return bytes.length;
    }

    /** Hex SHA-256 of the module's bytes: how a {@link ModelSpec} names it. */
    public String sha256() {
        return sha256;
    }

    /** The spec of a model with this module as its network. */
    public ModelSpec spec(java.util.List<Integer> inputShape, int numClasses, java.util.Map<String, String> options) {
        java.util.Map<String, String> all = new java.util.TreeMap<>(options);
        all.put(ModelSpec.SHA256, sha256);
        return new ModelSpec(ModelSpec.TORCHSCRIPT, inputShape, numClasses, all);
    }

    /**
     * Loads the module into {@code manager} (a PyTorch manager, on its device) with its parameters trainable,
     * after checking that it is the module {@code spec} names.
     *
     * @throws IllegalArgumentException if the spec names another module, or libtorch cannot load it
     */
    public PtSymbolBlock load(ModelSpec spec, NDManager manager) {
        if (!spec.isTorchScript() || !sha256.equals(spec.options().get(ModelSpec.SHA256))) {
            throw new IllegalArgumentException("model " + spec + " does not name the TorchScript module " + sha256);
        }
        Path file = null;
        try {
            // DJL 0.36 sets requires_grad on a module's parameters only when it loads one from a file
            // (the InputStream overload has no trainParam flag)
            file = Files.createTempFile("rehearsal-", ".pt");
            Files.write(file, bytes);
            return JniUtils.loadModule((PtNDManager) manager, file, true, new String[0], new String[0], true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot stage the TorchScript module " + sha256 + ": " + e.getMessage(), e);
        } catch (ai.djl.engine.EngineException e) {
            throw new IllegalArgumentException("libtorch cannot load the TorchScript module " + sha256 + ": "
                    + e.getMessage(), e);
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException ignored) {
                    // a temporary file left behind; the OS cleans it
                }
            }
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "TorchScript module " + sha256.substring(0, 12) + " (" + bytes.length + " bytes)";
    }
}
