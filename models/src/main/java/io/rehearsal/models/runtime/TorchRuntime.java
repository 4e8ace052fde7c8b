package io.rehearsal.models.runtime;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide PyTorch engine as the trainer uses it: thread counts, the device, seeding and
 * version strings for provenance.
 *
 * <p>Threads matter on small machines: PyTorch's default intra-op pool (one thread per core) is up to
 * 50x slower when another process keeps a core busy, so the trainer sets the counts it was given.
 * The inter-op count can only be set before the engine first loads (from the system property
 * {@code ai.djl.pytorch.num_interop_threads}); the intra-op count is applied on every call.
 */
public final class TorchRuntime {
    /** The engine rehearsal trains with. */
    public static final String ENGINE = "PyTorch";
    private static final Logger LOG = LoggerFactory.getLogger(TorchRuntime.class);
    private static volatile boolean logged;

    private TorchRuntime() {
    }

    /** Loads the engine with the given thread counts (system properties win if the user set them). */
    public static Engine engine(int threads, int interopThreads) {
        if (System.getProperty("ai.djl.pytorch.num_interop_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_interop_threads", Integer.toString(interopThreads));
        }
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        }
        Engine engine = Engine.getEngine(ENGINE);
        JniUtils.setNumThreads(Integer.getInteger("ai.djl.pytorch.num_threads", threads));
        if (!logged) {
            logged = true;
            LOG.info("PyTorch {} (DJL {}): {} intra-op / {} inter-op threads, {} GPU(s), training on {}",
                    engine.getVersion(), Engine.getDjlVersion(), JniUtils.getNumThreads(),
                    JniUtils.getNumInteropThreads(), engine.getGpuCount(), device(engine));
            if (engine.getGpuCount() == 0 && MklShim.amdCpu() && !MklShim.active()) {
                LOG.warn("AMD CPU without the MKL shim: libtorch's MKL takes its generic kernels here and training "
                        + "runs up to 2x slower; start through ./rehearsal (it preloads ops/native/mkl_intel_cpu.c) or set "
                        + "LD_PRELOAD to a built {} (see docs/benchmarks.md)", MklShim.LIBRARY);
            }
        }
        return engine;
    }

    /** The first GPU when DJL sees one, else the CPU. */
    public static Device device(Engine engine) {
        return engine.getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
    }

    /** Re-seeds PyTorch's generators (CPU and CUDA) deterministically from a seed and a step. */
    public static void seed(Engine engine, long seed, long step) {
        engine.setRandomSeed(mix(seed, step));
    }

    /** A well-spread non-negative int from two longs (SplitMix64 finalizer). */
    static int mix(long seed, long step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (int) (z & 0x7fffffff);
    }
}
