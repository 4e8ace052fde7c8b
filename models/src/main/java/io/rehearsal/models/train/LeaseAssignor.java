package io.rehearsal.models.train;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.TopicPartition;

/**
 * The trainer lease group's assignor: a partition stays with the member that owns it while that member is
 * in the group, and an orphaned partition (its owner stopped, or was removed after its session timed out)
 * goes to the member best placed to take over: one that is warm before one that is not, then the one that
 * has waited longest. Each member tells its standing in its subscription's user data, as of its latest
 * join ({@link Standing}).
 *
 * <p>Kafka's sticky assignors give an orphaned partition to whichever member has the fewest partitions,
 * and every waiting trainer has none, so a tie is broken by member id, which is random: after a kill, the
 * victim's restarted process, just started and not yet warm, took the lease from a standby that had been
 * following the features topic for minutes (issue 19). Here the standby wins.
 *
 * <p>Cooperative: a partition never moves from one live member to another, so no member revokes anything
 * and holders keep training through a standby's join. Where two live members claim a partition (one of
 * them missed a rebalance), the claim of the newer generation stands. The lease lists this assignor before
 * {@code cooperative-sticky}, so that during a rolling upgrade from a version without it the group keeps
 * using the assignor every member knows.
 */
public final class LeaseAssignor implements ConsumerPartitionAssignor, Configurable {
    /** The assignor's name in the group protocol. */
    public static final String NAME = "rehearsal-lease";
    /** The consumer property that hands a lease's {@link Standing} source to its assignor instance. */
    static final String STANDING_CONFIG = "rehearsal.lease.standing";

    private StandingSource standing = () -> Standing.NONE;

    /** How one member stands for taking over a lease. */
    public record Standing(boolean warm, long waitingSinceMillis) {
        private static final byte VERSION = 1;
        /** A member that told nothing (no user data, or of an unknown version): ranked after every other. */
        static final Standing NONE = new Standing(false, Long.MAX_VALUE);

        /** Warm members first, then the longest waiting. */
        static final Comparator<Standing> BEST_FIRST = Comparator.comparing((Standing s) -> !s.warm())
                .thenComparingLong(Standing::waitingSinceMillis);

        ByteBuffer encode() {
            return ByteBuffer.allocate(10).put(VERSION).put((byte) (warm ? 1 : 0)).putLong(waitingSinceMillis).flip();
        }

        static Standing decode(ByteBuffer data) {
            if (data == null || data.remaining() < 10) {
                return NONE;
            }
            ByteBuffer b = data.duplicate();
            if (b.get() != VERSION) {
                return NONE;
            }
            return new Standing(b.get() != 0, b.getLong());
        }
    }

    /** Where a lease's assignor reads its member's standing at each join. */
    @FunctionalInterface
    interface StandingSource {
        Standing current();
    }

    @Override
    public void configure(Map<String, ?> configs) {
        if (configs.get(STANDING_CONFIG) instanceof StandingSource source) {
            this.standing = source;
        }
    }

    @Override
    public ByteBuffer subscriptionUserData(Set<String> topics) {
        return standing.current().encode();
    }

    @Override
    public GroupAssignment assign(Cluster metadata, GroupSubscription groupSubscription) {
        Map<String, Subscription> members = groupSubscription.groupSubscription();
        Map<String, List<TopicPartition>> assigned = new HashMap<>();
        members.keySet().forEach(m -> assigned.put(m, new ArrayList<>()));
        if (members.isEmpty()) {
            return new GroupAssignment(Map.of());
        }
        Map<TopicPartition, String> owners = owners(members);
        String best = members.entrySet().stream()
                .min(Comparator.comparing((Map.Entry<String, Subscription> e) -> Standing.decode(e.getValue().userData()),
                        Standing.BEST_FIRST).thenComparing(Map.Entry::getKey))
                .orElseThrow().getKey();
        Set<String> topics = new TreeSet<>();
        members.values().forEach(s -> topics.addAll(s.topics()));
        for (String topic : topics) {
            Integer count = metadata.partitionCountForTopic(topic);
            for (int p = 0; p < (count == null ? 0 : count); p++) {
                TopicPartition partition = new TopicPartition(topic, p);
                String owner = owners.get(partition);
                String to = owner != null && members.get(owner).topics().contains(topic) ? owner : best;
                if (members.get(to).topics().contains(topic)) {
                    assigned.get(to).add(partition);
                }
            }
        }
        Map<String, Assignment> result = new HashMap<>();
        assigned.forEach((member, partitions) -> result.put(member, new Assignment(partitions)));
        return new GroupAssignment(result);
    }

    /** Each claimed partition's owner among the live members; of two claims, the newer generation's. */
    private static Map<TopicPartition, String> owners(Map<String, Subscription> members) {
        Map<TopicPartition, String> owners = new HashMap<>();
        Map<TopicPartition, Integer> generations = new HashMap<>();
        members.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            int generation = e.getValue().generationId().orElse(-1);
            for (TopicPartition partition : e.getValue().ownedPartitions()) {
                Integer seen = generations.get(partition);
                if (seen == null || generation > seen) {
                    owners.put(partition, e.getKey());
                    generations.put(partition, generation);
                }
            }
        });
        return owners;
    }

    @Override
    public List<RebalanceProtocol> supportedProtocols() {
        return List.of(RebalanceProtocol.COOPERATIVE);
    }

    @Override
    public String name() {
        return NAME;
    }
}
