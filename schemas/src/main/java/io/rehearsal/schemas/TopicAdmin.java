package io.rehearsal.schemas;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates missing topics idempotently and reports where existing ones drifted from the registry
 * (partition count, replication factor, {@code min.insync.replicas} or a config the registry sets). Drift
 * is reported, never "fixed": changing a live topic is an operator's decision.
 *
 * <p>Replication follows the cluster's size ({@link Replication#forBrokers}): 3 copies and
 * {@code min.insync.replicas} 2 where there are three brokers or more, fewer on a smaller cluster. The size
 * is the number of brokers alive when the topics are created or checked.
 */
public final class TopicAdmin {
    private static final Logger LOG = LoggerFactory.getLogger(TopicAdmin.class);

    private static final Duration LEADER_WAIT = Duration.ofSeconds(30);

    private final Admin admin;
    private Replication replication;

    /** Replication from the size of the cluster the admin client reaches. */
    public TopicAdmin(Admin admin) {
        this.admin = admin;
    }

    /** With the given replication, whatever the cluster's size. */
    public TopicAdmin(Admin admin, Replication replication) {
        this.admin = admin;
        this.replication = replication;
    }

    /** The replication topics are created with and checked against (asks the cluster its size once). */
    public Replication replication() throws ExecutionException, InterruptedException {
        if (replication == null) {
            int brokers = admin.describeCluster().nodes().get().size();
            replication = Replication.forBrokers(brokers);
            LOG.debug("{} broker(s): replication factor {}, min.insync.replicas {}", brokers, replication.factor(),
                    replication.minInSyncReplicas());
        }
        return replication;
    }

    /** One difference between a live topic and the registry. */
    public record Drift(String topic, String setting, String expected, String actual) {
        @Override
        public String toString() {
            return String.format("topic %s: %s is %s, expected %s", topic, setting, actual, expected);
        }
    }

    /** What {@link #ensure} did. */
    public record Report(List<String> created, List<String> existing, List<Drift> drifts) {
    }

    /**
     * Creates each topic that does not exist (with the {@link #replication()} of the cluster's size), waits
     * until its partitions' leaders serve requests, and checks the others.
     */
    public Report ensure(Collection<Topic<?, ?>> topics) {
        try {
            Set<String> names = admin.listTopics().names().get();
            List<String> created = new ArrayList<>();
            List<String> existing = new ArrayList<>();
            List<NewTopic> toCreate = new ArrayList<>();
            for (Topic<?, ?> t : topics) {
                if (names.contains(t.name())) {
                    existing.add(t.name());
                } else {
                    Replication r = replication();
                    toCreate.add(new NewTopic(t.name(), Optional.of(t.partitions()), Optional.of((short) r.factor()))
                            .configs(configs(t, r)));
                }
            }
            for (var entry : admin.createTopics(toCreate).values().entrySet()) {
                try {
                    entry.getValue().get();
                    created.add(entry.getKey());
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                    existing.add(entry.getKey()); // another process created it in between
                }
            }
            List<Drift> drifts = drift(topics.stream().filter(t -> existing.contains(t.name())).toList());
            if (!created.isEmpty()) {
                awaitLeaders(topics.stream().filter(t -> created.contains(t.name())).toList());
                LOG.info("created topics {}", created);
            }
            drifts.forEach(d -> LOG.warn("config drift: {}", d));
            return new Report(List.copyOf(created), List.copyOf(existing), drifts);
        } catch (ExecutionException e) {
            throw new IllegalStateException("cannot create rehearsal topics: " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topics", e);
        }
    }

    /**
     * Waits until the leader of every partition of new topics serves requests. Metadata names a leader
     * before the broker has taken the partition up; an idempotent producer whose first batches meet
     * NOT_LEADER_OR_FOLLOWER there can have a later batch accepted before its first one's retry, which
     * then fails with OutOfOrderSequenceException on every retry (seen with Kafka 4.x on the in-process
     * broker: the producer hangs until delivery.timeout.ms). A ListOffsets answered by each leader
     * proves it took the partition up; nothing is written.
     */
    private void awaitLeaders(List<Topic<?, ?>> created) throws InterruptedException, ExecutionException {
        Map<TopicPartition, OffsetSpec> partitions = new HashMap<>();
        for (Topic<?, ?> t : created) {
            for (int p = 0; p < t.partitions(); p++) {
                partitions.put(new TopicPartition(t.name(), p), OffsetSpec.latest());
            }
        }
        Set<String> names = created.stream().map(Topic::name).collect(Collectors.toSet());
        long deadline = System.nanoTime() + LEADER_WAIT.toNanos();
        while (true) {
            try {
                // first until metadata knows every partition's leader (quietly), then ask each leader
                boolean led = admin.describeTopics(names).allTopicNames().get().values().stream()
                        .allMatch(d -> d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
                if (!led) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("new topics have no leader after " + LEADER_WAIT + ": " + names);
                    }
                    Thread.sleep(50);
                    continue;
                }
                admin.listOffsets(partitions).all().get();
                return;
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RetriableException) || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }

    /** A topic's configs as the registry sets them, with {@code min.insync.replicas} of the replication. */
    private static Map<String, String> configs(Topic<?, ?> t, Replication r) {
        Map<String, String> configs = new HashMap<>(t.configs());
        configs.putIfAbsent(Replication.MIN_INSYNC_REPLICAS, Integer.toString(r.minInSyncReplicas()));
        return configs;
    }

    /** Differences between the live topics and the registry. */
    public List<Drift> drift(Collection<Topic<?, ?>> topics) throws ExecutionException, InterruptedException {
        if (topics.isEmpty()) {
            return List.of();
        }
        Replication r = replication();
        List<Drift> drifts = new ArrayList<>();
        Map<String, Topic<?, ?>> byName = topics.stream().collect(Collectors.toMap(Topic::name, t -> t));
        Map<String, TopicDescription> descriptions = admin.describeTopics(byName.keySet()).allTopicNames().get();
        for (TopicDescription d : descriptions.values()) {
            int expected = byName.get(d.name()).partitions();
            if (d.partitions().size() != expected) {
                drifts.add(new Drift(d.name(), "partitions", Integer.toString(expected), Integer.toString(d.partitions().size())));
            }
            int replicas = d.partitions().stream().mapToInt(p -> p.replicas().size()).min().orElse(0);
            if (replicas != r.factor()) {
                drifts.add(new Drift(d.name(), "replication factor", Integer.toString(r.factor()), Integer.toString(replicas)));
            }
        }
        Map<ConfigResource, Topic<?, ?>> resources = new HashMap<>();
        topics.forEach(t -> resources.put(new ConfigResource(ConfigResource.Type.TOPIC, t.name()), t));
        Map<ConfigResource, Config> configs = admin.describeConfigs(resources.keySet()).all().get();
        for (var e : configs.entrySet()) {
            Topic<?, ?> t = resources.get(e.getKey());
            for (var wanted : configs(t, r).entrySet()) {
                ConfigEntry actual = e.getValue().get(wanted.getKey());
                String value = actual == null ? null : actual.value();
                if (!wanted.getValue().equals(value)) {
                    drifts.add(new Drift(t.name(), wanted.getKey(), wanted.getValue(), value));
                }
            }
        }
        return drifts;
    }
}
