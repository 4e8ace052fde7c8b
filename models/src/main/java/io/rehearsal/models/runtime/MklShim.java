package io.rehearsal.models.runtime;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The MKL shim ({@code ops/native/mkl_intel_cpu.c}): libtorch's statically linked Intel MKL runs its
 * generic kernels on AMD CPUs, and its matrix products (most of a training step) take about twice as
 * long as with the AVX-512 kernels the CPU supports. A one-function library preloaded with
 * {@code LD_PRELOAD} answers MKL's "Intel CPU?" probe with yes; MKL then picks kernels by the CPU's
 * feature flags. The {@code ./rehearsal} launcher builds and preloads it on AMD machines with a C
 * compiler; it cannot be loaded from inside a running JVM.
 */
public final class MklShim {
    /** The file name the launcher and the benchmark give the library. */
    public static final String LIBRARY = "libmkl_intel_cpu.so";
    static final String SOURCE = "int mkl_serv_intel_cpu_true(void) { return 1; }\n";

    private MklShim() {
    }

    /** Whether this machine's CPU is an AMD one (from /proc/cpuinfo; false where that cannot be read). */
    public static boolean amdCpu() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo")).contains("AuthenticAMD");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether this process was started with the shim preloaded. */
    public static boolean active() {
        String preload = System.getenv("LD_PRELOAD");
        return preload != null && preload.contains(LIBRARY);
    }

    /** The preloaded shim of this process, if any. */
    public static Optional<Path> preloaded() {
        String preload = System.getenv("LD_PRELOAD");
        if (preload == null) {
            return Optional.empty();
        }
        for (String lib : preload.split("[: ]")) {
            if (lib.endsWith(LIBRARY) && Files.isRegularFile(Path.of(lib))) {
                return Optional.of(Path.of(lib));
            }
        }
        return Optional.empty();
    }

    /**
     * Builds the shim in {@code dir} with the system's C compiler ({@code cc}).
     *
     * @return the library, or empty if there is no compiler or it failed
     */
    public static Optional<Path> build(Path dir) {
        try {
            Files.createDirectories(dir);
            Path source = dir.resolve("mkl_intel_cpu.c");
            Path library = dir.resolve(LIBRARY);
            Files.writeString(source, SOURCE, StandardCharsets.UTF_8);
            Process p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O2", "-o", library.toString(), source.toString())
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0 || !Files.isRegularFile(library)) {
                return Optional.empty();
            }
            return Optional.of(library);
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }
}
