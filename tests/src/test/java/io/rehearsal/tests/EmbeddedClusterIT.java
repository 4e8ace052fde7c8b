package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.broker.EmbeddedKafkaCluster;
import io.rehearsal.schemas.Replication;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaBrokers;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three in-process brokers as production runs them: rehearsal's topics with three replicas and two in
 * sync, and transactions that commit while the transaction coordinator and a partition leader stop and
 * come back, one broker at a time.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@ExtendWith(KafkaBrokerExtension.class)
@KafkaBrokers(3)
class EmbeddedClusterIT {

    @Test
    void shouldCreateTopicsWithThreeReplicasTwoInSync(KafkaCluster kafka) throws Exception {
        // Given a cluster of three brokers
        assertThat(kafka.embeddedCluster()).hasValueSatisfying(c -> assertThat(c.size()).isEqualTo(3));

        // When rehearsal's topics are created
        Topics topics = kafka.newTopics(3);

        // Then every partition of every topic has three replicas in sync, min.insync.replicas 2, and no drift
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            TopicAdmin topicAdmin = new TopicAdmin(admin);
            assertThat(topicAdmin.replication()).isEqualTo(new Replication(3, 2));
            Set<String> names = topics.all().stream().map(Topic::name).collect(Collectors.toSet());
            Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
            assertThat(described.values()).flatExtracting(TopicDescription::partitions)
                    .allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
            Map<ConfigResource, Config> configs = admin.describeConfigs(names.stream()
                    .map(n -> new ConfigResource(ConfigResource.Type.TOPIC, n)).toList()).all().get();
            assertThat(configs.values()).allSatisfy(c -> assertThat(c.get("min.insync.replicas").value()).isEqualTo("2"));
            assertThat(topicAdmin.drift(topics.all())).isEmpty();
            // a topic made by hand with one replica is reported, not changed (its min.insync.replicas is the
            // cluster default, 2)
            String odd = topics.prefix() + ".odd";
            admin.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic(odd, 1, (short) 1))).all().get();
            Topic<?, ?> registered = new Topic<>(odd, org.apache.kafka.common.serialization.Serdes.String(),
                    org.apache.kafka.common.serialization.Serdes.String(), 1, Map.of());
            assertThat(driftOnceKnown(topicAdmin, registered)).extracting(TopicAdmin.Drift::setting)
                    .containsExactly("replication factor");
        }
    }

    @Test
    void shouldCommitTransactionsWhileTheCoordinatorAndTheLeaderStopOneAtATime(KafkaCluster kafka) throws Exception {
        EmbeddedKafkaCluster cluster = kafka.embeddedCluster().orElseThrow();
        Topics topics = kafka.newTopics();
        String topic = topics.modelUpdates().name();
        String transactionalId = topics.prefix() + "-tx";
        Map<String, Object> p = new HashMap<>(kafka.clientProperties());
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
        List<String> committed = new ArrayList<>();
        try (Admin admin = Admin.create(kafka.clientProperties());
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
            producer.initTransactions();

            // Given an open transaction with records written
            producer.beginTransaction();
            send(producer, topic, "a", 0, 5, committed);
            int coordinator = admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get().coordinatorId();

            // When the transaction coordinator's broker stops in the middle of it, and more is written and committed
            EmbeddedKafkaBroker stopped = cluster.broker(coordinator);
            stopped.stop();
            send(producer, topic, "a", 5, 10, committed);
            producer.commitTransaction();
            int movedTo = admin.describeTransactions(List.of(transactionalId)).description(transactionalId).get().coordinatorId();
            stopped.start();

            // and then the leader of the topic's partition stops in the middle of the next one
            producer.beginTransaction();
            send(producer, topic, "b", 0, 5, committed);
            TopicPartitionInfo partition = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().get(0);
            int leader = partition.leader().id();
            cluster.broker(leader).stop();
            send(producer, topic, "b", 5, 10, committed);
            producer.commitTransaction();
            int newLeader = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().get(0).leader().id();
            cluster.broker(leader).start();

            // and an aborted transaction in between
            producer.beginTransaction();
            producer.send(new ProducerRecord<>(topic, 0, "aborted".getBytes(), "x".getBytes())).get();
            producer.abortTransaction();
            System.out.printf("coordinator %d stopped -> %d; leader %d stopped -> %d%n", coordinator, movedTo, leader, newLeader);
            assertThat(movedTo).isNotEqualTo(coordinator);
            assertThat(newLeader).isNotEqualTo(leader);
        }

        // Then a read-committed consumer sees both transactions whole, once, in order, and not the aborted one
        List<ConsumerRecord<byte[], byte[]>> got = TestRecords.consumeRaw(kafka, topic, committed.size() + 1, Duration.ofSeconds(15));
        assertThat(got).extracting(r -> new String(r.value())).containsExactlyElementsOf(committed);
    }

    /** The drift of a topic just created, once every broker knows it (metadata reaches them in turn). */
    private static List<TopicAdmin.Drift> driftOnceKnown(TopicAdmin admin, Topic<?, ?> topic) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return admin.drift(List.of(topic));
            } catch (java.util.concurrent.ExecutionException e) {
                if (!(e.getCause() instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)
                        || System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private static void send(KafkaProducer<byte[], byte[]> producer, String topic, String tx, int from, int to, List<String> sent)
            throws Exception {
        for (int i = from; i < to; i++) {
            String v = tx + i;
            producer.send(new ProducerRecord<>(topic, 0, v.getBytes(), v.getBytes()));
            sent.add(v);
        }
        producer.flush();
    }
}
