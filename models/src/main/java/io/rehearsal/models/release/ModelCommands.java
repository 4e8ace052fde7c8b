package io.rehearsal.models.release;

import io.rehearsal.models.snapshot.SnapshotReader;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.CommandAction;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.Promotion;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Asks the promoter of a model to promote, pin, unpin or roll back: writes a {@link ModelCommand} to the
 * commands topic and waits for the promotion record that answers it (the promoter is the only writer of
 * promotions, so commands and its own decisions never race). Used by {@code rehearsal model} and the
 * predictor's {@code POST /model/...}. Thread-safe: one command at a time.
 */
public final class ModelCommands implements AutoCloseable {
    /** The longest operator name and reason kept on a command (longer ones are refused). */
    public static final int MAX_TEXT = 1024;
    /** How old a command may be when the promoter reads it; an older one is rejected as expired. */
    public static final Duration COMMAND_TTL = Duration.ofMinutes(10);

    private final Topics topics;
    private final Producer<byte[], byte[]> producer;
    private final Consumer<byte[], byte[]> answers;
    private final Optional<PromotionSigner> verifier;

    ModelCommands(Topics topics, Producer<byte[], byte[]> producer, Consumer<byte[], byte[]> answers,
                  Optional<PromotionSigner> verifier) {
        this.topics = topics;
        this.producer = producer;
        this.answers = answers;
        this.verifier = verifier;
    }

    /**
     * A client with its own producer and consumer; {@code extra} (TLS, SASL...) is added to both; with a
     * key, an answer whose signature does not verify is not taken for one.
     */
    public static ModelCommands create(Topics topics, String bootstrapServers, Map<String, Object> extra, Optional<String> key) {
        Producer<byte[], byte[]> producer = new KafkaProducer<>(ClientConfig.producer(bootstrapServers, topics.commands()).over(extra));
        try {
            Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(ClientConfig.consumer(bootstrapServers)
                    .withoutGroup().readCommitted().over(extra));
            return new ModelCommands(topics, producer, consumer, key.map(PromotionSigner::new));
        } catch (RuntimeException e) {
            producer.close(Duration.ofSeconds(1));
            throw e;
        }
    }

    /** A command with a fresh id, stamped now; {@code version} may be null (see {@link CommandAction}). */
    public static ModelCommand command(String modelId, CommandAction action, Long version, String operator, String reason) {
        if (operator == null || operator.isBlank() || operator.length() > MAX_TEXT) {
            throw new IllegalArgumentException("a command needs the operator's name (1 to " + MAX_TEXT + " characters)");
        }
        if (reason == null || reason.isBlank() || reason.length() > MAX_TEXT) {
            throw new IllegalArgumentException("a command needs a reason (1 to " + MAX_TEXT + " characters): it is "
                    + "recorded on the promotions topic for whoever looks at this model next");
        }
        if (version != null && version < 1) {
            throw new IllegalArgumentException("versions start at 1, got " + version);
        }
        return new ModelCommand(UUID.randomUUID().toString(), modelId, action, version, operator, reason,
                Instant.ofEpochMilli(Instant.now().toEpochMilli()));
    }

    /**
     * Sends {@code command} and returns the promotion record that answers it: applied (PROMOTED_BY_HAND,
     * PINNED, UNPINNED, ROLLED_BACK) or REJECTED with the reason.
     *
     * @throws IllegalStateException if no answer comes within {@code timeout} (no promoter of the model runs)
     * @throws KafkaException        if the broker did not take the command
     */
    public synchronized Promotion apply(ModelCommand command, Duration timeout) {
        String topic = topics.promotions().name();
        byte[] key = topics.promotions().serializeKey(command.getModelId());
        List<PartitionInfo> partitions = answers.partitionsFor(topic, timeout);
        if (partitions == null || partitions.isEmpty()) {
            throw new IllegalStateException("topic " + topic + " does not exist: no promoter has run on this cluster; "
                    + "start `rehearsal promoter --model-id " + command.getModelId() + "`");
        }
        TopicPartition tp = new TopicPartition(topic, SnapshotReader.partitionFor(key, partitions.size()));
        answers.assign(List.of(tp));
        answers.seekToEnd(List.of(tp));
        answers.position(tp, timeout); // fixed before the command is sent: the answer comes after it
        send(command, timeout);
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            for (ConsumerRecord<byte[], byte[]> r : answers.poll(Duration.ofMillis(200))) {
                if (r.value() == null || r.key() == null || !Arrays.equals(r.key(), key)) {
                    continue;
                }
                Promotion p;
                try {
                    p = topics.promotions().deserializeValue(r.value());
                    verifier.ifPresent(v -> v.verify(p));
                } catch (RecordDecodeException | io.rehearsal.models.snapshot.SnapshotFormatException e) {
                    continue;
                }
                if (command.getCommandId().equals(p.getCommandId())) {
                    return p;
                }
            }
        }
        throw new IllegalStateException(String.format("no promoter answered command %s (%s of model %s) within %s; is "
                        + "`rehearsal promoter --model-id %s` running? The command stays on %s: a promoter that starts within %d "
                        + "minutes of it still applies it, a later one rejects it as expired",
                command.getCommandId(), command.getAction(), command.getModelId(), timeout, command.getModelId(),
                topics.commands().name(), COMMAND_TTL.toMinutes()));
    }

    private void send(ModelCommand command, Duration timeout) {
        try {
            producer.send(new ProducerRecord<>(topics.commands().name(), topics.commands().serializeKey(command.getModelId()),
                    topics.commands().serializeValue(command))).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new KafkaException("command " + command.getAction() + " of model " + command.getModelId()
                    + " was not written to " + topics.commands().name() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new KafkaException("the broker did not acknowledge the command within " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while sending a command", e);
        }
    }

    @Override
    public void close() {
        try {
            answers.close(CloseOptions.timeout(Duration.ofSeconds(1)));
        } finally {
            producer.close(Duration.ofSeconds(1));
        }
    }
}
