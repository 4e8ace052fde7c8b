package io.rehearsal.streams.random;

import java.nio.charset.StandardCharsets;

/**
 * Stateless seeded randomness: every random draw is a hash of the seed and of what the draw is about
 * (model, sample, step, class, count), so the same input and seed give the same draws, in any process,
 * after any restart, with no random-generator state to store.
 */
public final class Seeds {
    private Seeds() {
    }

    /** A 64-bit mix of the seed and the parts (SplitMix64 finalizer over an FNV-style fold). */
    public static long hash(long seed, Object... parts) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        for (Object part : parts) {
            h = mix(h ^ partHash(part));
        }
        return h;
    }

    /** A uniform double in [0, 1) from {@link #hash}. */
    public static double uniform(long seed, Object... parts) {
        return (hash(seed, parts) >>> 11) * 0x1.0p-53;
    }

    /** A uniform long in [0, bound) from {@link #hash}; bound > 0. */
    public static long below(long bound, long seed, Object... parts) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be > 0, got " + bound);
        }
        return Long.remainderUnsigned(hash(seed, parts), bound);
    }

    private static long partHash(Object part) {
        if (part instanceof Number n) {
            return mix(n.longValue() + 0x632BE59BD9B4E019L);
        }
        long h = 0xCBF29CE484222325L;
        for (byte b : String.valueOf(part).getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001B3L;
        }
        return h;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
