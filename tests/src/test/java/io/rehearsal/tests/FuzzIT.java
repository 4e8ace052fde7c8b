package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.bench.experiment.CatchUp;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * More than 10,000 bad records of every kind, mixed into a stream of good samples, through a real broker
 * into {@code rehearsal curator} and {@code rehearsal trainer} running as their own processes: every bad
 * record ends on the dead-letter topic with the reason it deserves (counted by reason against what was
 * sent, and matched record by record by source offset), every good sample is trained exactly once, hostile
 * but valid feedback (conflicting loops on one id) is absorbed, and neither process restarts.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FuzzIT {
    private static final int GOOD = 2000;

    @Test
    void shouldDeadLetterEveryBadRecordWithItsReasonAndTrainEveryGoodOne(KafkaCluster kafka, @TempDir Path dir) throws Exception {
        // Given good samples mixed with bad records on samples and feedback, and garbage batches for the trainer
        Topics topics = kafka.newTopics(1);
        BadRecords stream = new BadRecords(topics, 11).build(GOOD);
        List<BadRecords.Planned> batches = stream.badBatches();
        Map<String, String> expected = new HashMap<>(); // "topic@offset" -> reason
        long base = System.currentTimeMillis();
        try (KafkaProducer<byte[], byte[]> producer = producer(kafka)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            List<BadRecords.Planned> records = stream.records();
            for (int i = 0; i < records.size(); i++) {
                BadRecords.Planned p = records.get(i);
                long ts = p.position() == Double.MAX_VALUE ? base + Duration.ofMinutes(10).toMillis() + i : base + i;
                sent.add(producer.send(new ProducerRecord<>(p.topic(), 0, ts, bytes(p.key()), p.value())));
            }
            for (BadRecords.Planned p : batches) {
                sent.add(producer.send(new ProducerRecord<>(p.topic(), 0, base, bytes(p.key()), p.value())));
            }
            producer.flush();
            List<BadRecords.Planned> all = new ArrayList<>(records);
            all.addAll(batches);
            for (int i = 0; i < all.size(); i++) {
                if (all.get(i).reason() != null) {
                    RecordMetadata m = sent.get(i).get();
                    expected.put(m.topic() + "@" + m.offset(), all.get(i).reason());
                }
            }
        }
        long curatorBad = stream.records().stream().filter(p -> p.reason() != null).count();
        System.out.printf("sent %d records: %d good samples, %d bad for the curator, %d bad batches for the trainer%n",
                stream.records().size() + batches.size(), stream.good().size(), curatorBad, batches.size());
        assertThat(curatorBad).isGreaterThanOrEqualTo(10_000);

        // When the curator and the trainer run as their own processes
        List<String> common = List.of("--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(),
                "--partitions", "1", "--input-shape", Integer.toString(BadRecords.DIMS), "--classes",
                Integer.toString(BadRecords.CLASSES));
        List<String> curatorArgs = new ArrayList<>(List.of("curator", "--model-id", BadRecords.MODEL, "--batch-size", "32", "--buffer-size", "200",
                "--linger", "PT2S", "--pending-capacity", Integer.toString(BadRecords.PENDING_CAPACITY), "--pending-expiry", "PT5M",
                "--state-dir", dir.resolve("state").toString()));
        curatorArgs.addAll(common);
        List<String> trainerArgs = new ArrayList<>(List.of("trainer", "--model-id", BadRecords.MODEL, "--arch", "mlp",
                "--hidden", "32", "--snapshot-every", "PT1S"));
        trainerArgs.addAll(common);
        try (ComponentProcess curator = new ComponentProcess("curator", curatorArgs, Map.of(), dir, "512m");
             ComponentProcess trainer = new ComponentProcess("trainer", trainerArgs, Map.of(), dir, "768m");
             Admin admin = Admin.create(kafka.clientProperties());
             CatchUp catchUp = new CatchUp(admin, kafka.clientProperties())) {
            curator.start();
            trainer.start();
            Map<String, List<TopicPartition>> groups = Map.of(
                    topics.prefix() + "-curator", List.of(new TopicPartition(topics.samples().name(), 0),
                            new TopicPartition(topics.feedback().name(), 0)),
                    "rehearsal-trainer-" + BadRecords.MODEL, List.of(new TopicPartition(topics.trainBatches().name(), 0)));
            catchUp.await(groups, Duration.ofSeconds(5), Duration.ofMinutes(3), () -> {
                assertThat(curator.exitCode()).as("the curator exited; its log ends:%n%s", curator.logTail(40)).isNull();
                assertThat(trainer.exitCode()).as("the trainer exited; its log ends:%n%s", trainer.logTail(40)).isNull();
            });

            // Then neither process restarted
            assertThat(curator.alive()).isTrue();
            assertThat(trainer.alive()).isTrue();
            assertThat(curator.incarnation()).isEqualTo(1);
            assertThat(trainer.incarnation()).isEqualTo(1);
        }

        // and every bad record has exactly one dead letter, with its reason
        List<DeadLetter> letters = read(kafka, topics.deadLetters().name()).stream()
                .map(r -> topics.deadLetters().deserializeValue(r.value())).toList();
        Map<String, List<String>> got = new HashMap<>();
        for (DeadLetter d : letters) {
            got.computeIfAbsent(d.getSourceTopic() + "@" + d.getSourceOffset(), k -> new ArrayList<>()).add(d.getReason());
        }
        List<String> wrong = new ArrayList<>();
        expected.forEach((where, reason) -> {
            List<String> reasons = got.getOrDefault(where, List.of());
            // exactly one dead letter, whose reason is the expected one (or, for feedback whose sample never comes,
            // one of the two its place in the pending queue decides: their counts are asserted below)
            if (reasons.size() != 1 || !List.of(reason.split("\\|")).contains(reasons.get(0))) {
                wrong.add(where + " expected " + reason + " got " + reasons);
            }
        });
        got.keySet().stream().filter(k -> !expected.containsKey(k)).forEach(k -> wrong.add(k + " unexpected " + got.get(k)));
        Map<String, Long> sentByReason = new TreeMap<>(expected.values().stream().collect(Collectors.groupingBy(r -> r, Collectors.counting())));
        Map<String, Long> lettersByReason = new TreeMap<>(letters.stream()
                .collect(Collectors.groupingBy(d -> d.getComponent() + " " + d.getReason(), Collectors.counting())));
        System.out.println("bad records sent, by expected reason: " + sentByReason);
        System.out.println("dead letters, by component and reason: " + lettersByReason);
        assertThat(wrong).as("records without exactly their dead letter").isEmpty();
        assertThat(letters).hasSize(expected.size());
        assertThat(lettersByReason).containsEntry("curator FEEDBACK_OVERFLOW", 100L)
                .containsEntry("curator FEEDBACK_EXPIRED", (long) BadRecords.PENDING_CAPACITY)
                .containsEntry("trainer BAD_MARKER", 30L).containsEntry("trainer MALFORMED_AVRO", 20L)
                .containsEntry("trainer UNKNOWN_LABEL", 10L);

        // and every good sample was trained FRESH exactly once, in batches the last snapshot covers
        ModelSnapshot last = read(kafka, topics.modelUpdates().name()).stream()
                .map(r -> topics.modelUpdates().deserializeValue(r.value())).reduce((a, b) -> b).orElseThrow();
        long covered = last.getProvenance().getBatchOffsets().stream().mapToLong(TopicPartitionOffset::getOffset).max().orElse(0);
        Map<String, Integer> fresh = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : read(kafka, topics.trainBatches().name())) {
            TrainBatch b;
            try {
                b = topics.trainBatches().deserializeValue(r.value());
            } catch (RuntimeException e) {
                continue; // our garbage
            }
            if (r.offset() < covered && b.getKind() == BatchKind.TRAIN && !b.getBatchId().contains("/fake/")) {
                for (TrainItem i : b.getItems()) {
                    if (i.getRole() == ItemRole.FRESH) {
                        fresh.merge(i.getSampleId(), 1, Integer::sum);
                    }
                }
            }
        }
        List<String> notOnce = stream.good().stream().filter(id -> fresh.getOrDefault(id, 0) != 1)
                .map(id -> id + " x" + fresh.getOrDefault(id, 0)).toList();
        assertThat(notOnce).as("good samples not trained exactly once").isEmpty();
        assertThat(fresh.keySet()).allSatisfy(id -> assertThat(id).matches("g\\d+|late\\d|d\\d+"));
        System.out.printf("%d good samples each trained once; %d samples trained in all (loop decoys included); "
                + "last snapshot v%d at step %d%n", stream.good().size(), fresh.size(), last.getVersion(), last.getStep());
    }

    private static KafkaProducer<byte[], byte[]> producer(KafkaCluster kafka) {
        Map<String, Object> p = new HashMap<>(kafka.clientProperties());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        p.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 << 20);
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    private static byte[] bytes(String key) {
        return key == null ? null : key.getBytes(StandardCharsets.UTF_8);
    }

    /** Every committed record of a one-partition topic. */
    private static List<ConsumerRecord<byte[], byte[]>> read(KafkaCluster kafka, String topic) {
        Map<String, Object> p = new HashMap<>(kafka.clientProperties());
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 8 << 20);
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
            while (c.position(tp) < end && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }
}
