package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.models.train.LeaseAssignor.Standing;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupAssignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.RebalanceProtocol;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Who gets the trainer lease: the live owner keeps it; an orphaned lease goes to the warm, longest-waiting member. */
class LeaseAssignorTest {
    private static final String TOPIC = "train-batches";
    private static final TopicPartition LEASE = new TopicPartition(TOPIC, 0);
    private static final long T0 = 1_800_000_000_000L;

    private final LeaseAssignor assignor = new LeaseAssignor();

    @Test
    void shouldKeepTheLeaseWithItsLiveHolderWhateverTheOthersStanding() {
        // Given a holder that is neither warm nor the longest waiting, and a warm standby that has waited longer
        Map<String, Subscription> members = Map.of(
                "holder", member(new Standing(false, T0 + 60_000), List.of(LEASE), 7),
                "standby", member(new Standing(true, T0), List.of(), 7));

        // Then the holder keeps it: a lease never moves between live members
        assertThat(assign(members, 1)).containsEntry("holder", List.of(LEASE)).containsEntry("standby", List.of());
    }

    @Test
    void shouldGiveAnOrphanedLeaseToTheWarmStandbyRatherThanAJustStartedProcess() {
        // Given the holder gone (killed): its restarted process, not warm, joined after the warm standby.
        // Member ids are random, so give the restarted one the id that sorts first (a sticky assignor's tie-break)
        Map<String, Subscription> members = Map.of(
                "a-restarted", member(new Standing(false, T0 + 30_000), List.of(), 8),
                "z-standby", member(new Standing(true, T0), List.of(), 8));

        // Then the standby takes it
        assertThat(assign(members, 1)).containsEntry("z-standby", List.of(LEASE)).containsEntry("a-restarted", List.of());
    }

    @Test
    void shouldPreferWarmOverLongWaitingAndThenTheLongestWaiting() {
        // a warm member beats one that waited longer but never got warm (its features unread: a broker fault)
        assertThat(assign(Map.of(
                "a", member(new Standing(false, T0), List.of(), 3),
                "b", member(new Standing(true, T0 + 5_000), List.of(), 3)), 1)).containsEntry("b", List.of(LEASE));
        // of two warm members, the one waiting longer
        assertThat(assign(Map.of(
                "a", member(new Standing(true, T0 + 5_000), List.of(), 3),
                "b", member(new Standing(true, T0), List.of(), 3)), 1)).containsEntry("b", List.of(LEASE));
        // a member that told nothing (an older version, no user data) comes last
        assertThat(assign(Map.of(
                "a", new Subscription(List.of(TOPIC), null, List.of(), 3, Optional.empty()),
                "b", member(new Standing(false, T0 + 9_000), List.of(), 3)), 1)).containsEntry("b", List.of(LEASE));
    }

    @Test
    void shouldLetTheNewerGenerationsClaimStandWhenTwoLiveMembersClaimTheLease() {
        // Given a member that missed a rebalance (generation 4) still claiming what generation 5 gave another
        Map<String, Subscription> members = Map.of(
                "stale", member(new Standing(true, T0), List.of(LEASE), 4),
                "current", member(new Standing(true, T0 + 1_000), List.of(LEASE), 5));

        // Then the current holder keeps it
        assertThat(assign(members, 1)).containsEntry("current", List.of(LEASE)).containsEntry("stale", List.of());
    }

    @Test
    void shouldAssignEveryPartitionOfTheTopicByTheSameRule() {
        // with several partitions (several models' batches), each orphan goes to the best member, owned ones stay
        TopicPartition p1 = new TopicPartition(TOPIC, 1);
        Map<String, Subscription> members = Map.of(
                "holder", member(new Standing(true, T0 + 1_000), List.of(p1), 2),
                "standby", member(new Standing(true, T0), List.of(), 2));

        Map<String, List<TopicPartition>> assigned = assign(members, 3);

        assertThat(assigned.get("holder")).containsExactly(p1);
        assertThat(assigned.get("standby")).containsExactlyInAnyOrder(LEASE, new TopicPartition(TOPIC, 2));
    }

    @Test
    void shouldTellItsOwnStandingAtEachJoinAndSpeakCooperative() {
        // Given an assignor configured as the lease configures it, over a standing that changes
        Standing[] now = {new Standing(false, T0)};
        assignor.configure(Map.of(LeaseAssignor.STANDING_CONFIG, (LeaseAssignor.StandingSource) () -> now[0]));

        assertThat(Standing.decode(assignor.subscriptionUserData(Set.of(TOPIC)))).isEqualTo(new Standing(false, T0));
        now[0] = new Standing(true, T0);
        assertThat(Standing.decode(assignor.subscriptionUserData(Set.of(TOPIC)))).isEqualTo(new Standing(true, T0));
        // holders keep training while standbys join: nothing is revoked from a live member
        assertThat(assignor.supportedProtocols()).containsExactly(RebalanceProtocol.COOPERATIVE);
        // unknown or short user data is read as "told nothing"
        assertThat(Standing.decode(ByteBuffer.wrap(new byte[] {9, 1, 0, 0, 0, 0, 0, 0, 0, 0}))).isEqualTo(Standing.NONE);
        assertThat(Standing.decode(ByteBuffer.wrap(new byte[] {1, 1}))).isEqualTo(Standing.NONE);
    }

    private Map<String, List<TopicPartition>> assign(Map<String, Subscription> members, int partitions) {
        Node node = new Node(0, "localhost", 9092);
        List<PartitionInfo> infos = IntStream.range(0, partitions)
                .mapToObj(p -> new PartitionInfo(TOPIC, p, node, new Node[] {node}, new Node[] {node})).toList();
        Cluster cluster = new Cluster("c", List.of(node), infos, Set.of(), Set.of());
        GroupAssignment result = assignor.assign(cluster, new GroupSubscription(members));
        return result.groupAssignment().entrySet().stream()
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().partitions()));
    }

    private static Subscription member(Standing standing, List<TopicPartition> owned, int generation) {
        return new Subscription(List.of(TOPIC), standing.encode(), owned, generation, Optional.empty());
    }
}
