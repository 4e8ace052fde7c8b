package io.rehearsal.models.predict;

import io.rehearsal.schemas.InputSerde;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;

/**
 * Puts human feedback on {@code rehearsal.feedback} (key: sample id), checked by the same rules the
 * curator applies, and waits until the broker has it. Used by {@code rehearsal feedback} and the
 * prediction service's {@code POST /feedback}. Thread-safe.
 */
public final class FeedbackSender implements AutoCloseable {
    private static final InputSerde<Feedback> SERDE = InputSerde.feedback();
    private final Topics topics;
    private final Producer<byte[], byte[]> producer;
    private final boolean ownsProducer;

    /** Sends with {@code producer}, which stays the caller's to close. */
    public FeedbackSender(Topics topics, Producer<byte[], byte[]> producer) {
        this(topics, producer, false);
    }

    private FeedbackSender(Topics topics, Producer<byte[], byte[]> producer, boolean ownsProducer) {
        this.topics = topics;
        this.producer = producer;
        this.ownsProducer = ownsProducer;
    }

    /** A sender with its own idempotent producer; {@code extra} (TLS, SASL...) is added to its settings. */
    public static FeedbackSender create(Topics topics, String bootstrapServers, Map<String, Object> extra) {
        return new FeedbackSender(topics, new KafkaProducer<>(producerConfig(topics, bootstrapServers, extra)), true);
    }

    /** The producer's settings: {@code extra}, then idempotence and the feedback topic's record limit. */
    static Map<String, Object> producerConfig(Topics topics, String bootstrapServers, Map<String, Object> extra) {
        return ClientConfig.producer(bootstrapServers, topics.feedback()).over(extra);
    }

    /**
     * Checks {@code feedback} as the curator will (a LABEL needs a label, labels are class ids, trust is in
     * (0, 1]) and returns it as the curator will read it.
     *
     * @throws RecordDecodeException naming what is wrong
     */
    public static Feedback validated(Feedback feedback) {
        return SERDE.decode(SERDE.encode(feedback));
    }

    /**
     * Validates and sends one feedback record, waiting for the broker's acknowledgement.
     *
     * @throws RecordDecodeException if the feedback is invalid (nothing is sent)
     * @throws KafkaException        if the broker did not acknowledge it within {@code timeout}
     */
    public RecordMetadata send(Feedback feedback, Duration timeout) {
        Feedback checked = validated(feedback);
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(topics.feedback().name(),
                topics.feedback().serializeKey(checked.getSampleId()), topics.feedback().serializeValue(checked));
        try {
            return producer.send(record).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new KafkaException("feedback for sample " + feedback.getSampleId() + " was not written to "
                    + topics.feedback().name() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new KafkaException("the broker did not acknowledge feedback for sample " + feedback.getSampleId()
                    + " within " + timeout + "; is " + topics.feedback().name() + " reachable?", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while sending feedback for sample " + feedback.getSampleId(), e);
        }
    }

    @Override
    public void close() {
        if (ownsProducer) {
            producer.close(Duration.ofSeconds(10));
        }
    }
}
