package io.rehearsal.schemas;

/**
 * How many copies of each partition a cluster of a given size keeps, and how many must have a write
 * before it is acknowledged ({@code acks=all}): production's 3 and 2 from three brokers on, capped for
 * smaller clusters. With two brokers: 2 copies, 1 in sync (either broker may be down, writes go on);
 * with one: 1 and 1.
 *
 * @param factor          replication factor of every rehearsal topic (and of the offsets and transaction
 *                        state topics of an embedded cluster)
 * @param minInSyncReplicas {@code min.insync.replicas}
 */
public record Replication(int factor, int minInSyncReplicas) {
    /** The topic config that carries {@link #minInSyncReplicas}. */
    public static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";

    public Replication {
        if (factor < 1 || minInSyncReplicas < 1 || minInSyncReplicas > factor) {
            throw new IllegalArgumentException("replication factor " + factor + " with min.insync.replicas "
                    + minInSyncReplicas + " is not a valid pair");
        }
    }

    /** Production's settings for a cluster of this many brokers. */
    public static Replication forBrokers(int brokers) {
        if (brokers < 1) {
            throw new IllegalArgumentException("a cluster has at least one broker, got " + brokers);
        }
        int factor = Math.min(3, brokers);
        return new Replication(factor, factor >= 3 ? 2 : 1);
    }
}
