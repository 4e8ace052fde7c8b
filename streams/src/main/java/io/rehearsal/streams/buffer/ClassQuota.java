package io.rehearsal.streams.buffer;

import java.util.Collection;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The class-balanced split of a buffer: with C classes seen, each class may hold
 * {@code floor(capacity / C)} samples, and the remainder goes one each to the lowest class ids. So the
 * quota of every class shrinks as new classes appear, and the quotas always add up to the capacity.
 * A pure function; see {@code ClassQuotaTest}.
 */
public final class ClassQuota {
    private ClassQuota() {
    }

    /** The quota of {@code cls} among {@code classes} (which must contain it). */
    public static int of(int capacity, Collection<Integer> classes, int cls) {
        SortedSet<Integer> sorted = classes instanceof SortedSet<Integer> s ? s : new TreeSet<>(classes);
        if (!sorted.contains(cls)) {
            throw new IllegalArgumentException("class " + cls + " is not among the seen classes " + sorted);
        }
        int c = sorted.size();
        int base = capacity / c;
        int extra = capacity % c;
        int rank = sorted.headSet(cls).size();
        return base + (rank < extra ? 1 : 0);
    }
}
