package io.rehearsal.streams.buffer;

/**
 * Reservoir sampling within one class (Vitter's Algorithm R): while the class is under its quota every
 * offer is kept; after that the n-th offer of the class replaces a uniformly chosen slot with
 * probability quota / n, so the class holds a uniform sample of everything offered to it. A pure
 * function of its inputs; the random draw comes from {@code Seeds}.
 */
public final class Reservoir {
    /** The offer is not kept. */
    public static final int REJECT = -1;

    private Reservoir() {
    }

    /**
     * The slot the {@code seen}-th offer of a class goes to: {@code occupancy} (a new slot at the end)
     * while under quota, a slot in {@code [0, quota)} to replace, or {@link #REJECT}.
     *
     * @param seen      offers of this class so far, including this one (>= 1)
     * @param quota     the class's quota
     * @param occupancy slots the class holds now
     * @param random    a uniform random long
     */
    public static int slotFor(long seen, int quota, int occupancy, long random) {
        if (seen < 1) {
            throw new IllegalArgumentException("seen must count this offer, got " + seen);
        }
        if (occupancy < quota) {
            return occupancy;
        }
        if (quota == 0) {
            return REJECT;
        }
        long j = Long.remainderUnsigned(random, seen);
        return j < quota ? (int) j : REJECT;
    }
}
