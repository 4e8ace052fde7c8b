package io.rehearsal.streams;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.DeadLetters;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The curator's last line of defence, so that no record can stop it or make it crash-loop: Kafka
 * Streams calls it when processing a record throws, or when Kafka refuses a record the curator writes.
 * Both are prevented by construction (inputs are validated and dead-lettered by the processor, batches
 * and dead letters are bounded below their topics' limits); this handles what slipped through. The
 * record is skipped, a bounded dead letter naming its source record goes to the dead-letter topic in the
 * same transaction, a metric counts it, and processing goes on.
 *
 * <ul>
 *   <li>Processing: any exception from the curator's processor for one record (a bug, not bad input):
 *       reason {@link DeadLetterReason#PROCESSING_ERROR}; except a failure of the state stores (RocksDB: files
 *       gone, disk full), which is no record's fault and would fail every record after it: then the curator
 *       stops without skipping the record, and its restart restores the stores from their changelogs.</li>
 *   <li>Production: {@link RecordTooLargeException}: reason {@link DeadLetterReason#RECORD_TOO_LARGE}. A
 *       {@link RetriableException} (a broker slow or between leaders past the producer's own retries) is retried as
 *       Streams' default handler does: the task is processed again from its last commit
 *       ({@code rehearsal_curator_writes_retried_total}). Any other production error fails the stream thread
 *       ({@link StreamThreadFailures} decides whether a new thread takes over or the curator stops).</li>
 * </ul>
 *
 * Configured through {@link #configs}: Streams instantiates it and passes the curator's metrics and topics.
 */
public final class CuratorErrorHandler implements ProcessingExceptionHandler, ProductionExceptionHandler {
    private static final String PROCESSING_ERROR = DeadLetterReason.PROCESSING_ERROR.name();
    private static final String RECORD_TOO_LARGE = DeadLetterReason.RECORD_TOO_LARGE.name();
    static final String METRICS_CONFIG = "rehearsal.curator.metrics";
    static final String TOPICS_CONFIG = "rehearsal.curator.topics";
    private static final Logger LOG = LoggerFactory.getLogger(CuratorErrorHandler.class);

    private CuratorMetrics metrics = CuratorMetrics.discarding();
    private Topics topics = Topics.defaults();

    /** The Streams configuration entries that install this handler for both kinds of errors. */
    public static Map<String, Object> configs(CuratorMetrics metrics, Topics topics) {
        return Map.of(
                "processing.exception.handler", CuratorErrorHandler.class.getName(),
                "production.exception.handler", CuratorErrorHandler.class.getName(),
                METRICS_CONFIG, metrics,
                TOPICS_CONFIG, topics);
    }

    @Override
    public void configure(Map<String, ?> configs) {
        if (configs.get(METRICS_CONFIG) instanceof CuratorMetrics m) {
            metrics = m;
        }
        if (configs.get(TOPICS_CONFIG) instanceof Topics t) {
            topics = t;
        }
    }

    @Override
    public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception e) {
        if (stateFailure(e)) {
            // not the record's fault: skipping it (and every record after it) would lose good data. Fail: the record
            // is not committed, the curator stops, and its next start restores the stores from their changelogs
            LOG.error("the curator's state store failed while processing the record at {}-{}@{} ({}); the curator stops "
                            + "without skipping it, so that a restart restores its state and processes it again",
                    context.topic(), context.partition(), context.offset(), context.processorNodeId(), e);
            return ProcessingExceptionHandler.Response.fail();
        }
        LOG.error("the curator failed on the record at {}-{}@{} ({}); it is skipped and dead-lettered as {}",
                context.topic(), context.partition(), context.offset(), context.processorNodeId(), PROCESSING_ERROR, e);
        metrics.deadLetter(PROCESSING_ERROR);
        return ProcessingExceptionHandler.Response.resume(List.of(deadLetter(context, PROCESSING_ERROR,
                "the curator failed processing this record (" + e + "); it was skipped. This is a bug: please report "
                        + "it with this dead letter", e)));
    }

    @Override
    public ProductionExceptionHandler.Response handleError(ErrorHandlerContext context, ProducerRecord<byte[], byte[]> record,
                                                           Exception e) {
        String output = outputOf(record.topic());
        if (e instanceof RetriableException) {
            // the broker is slow or between leaders beyond the producer's own retries: as Streams' default handler,
            // retry (the task is closed dirty, its transaction aborted, and it is processed again from its last commit)
            LOG.warn("a write to {} failed with a retriable error ({}); the task is processed again from its last commit",
                    record.topic(), e.toString());
            metrics.writeRetried(output);
            return ProductionExceptionHandler.Response.retry();
        }
        if (!(e instanceof RecordTooLargeException)) {
            return ProductionExceptionHandler.Response.fail();
        }
        int size = (record.value() == null ? 0 : record.value().length) + (record.key() == null ? 0 : record.key().length);
        LOG.error("Kafka refused a record of {} bytes for {} ({}); it is skipped, dead-lettered as {}, and the curator goes on",
                size, record.topic(), e.getMessage(), RECORD_TOO_LARGE);
        metrics.writeSkipped(output, RECORD_TOO_LARGE);
        metrics.deadLetter(RECORD_TOO_LARGE);
        if (output.equals("dead-letters")) {
            return ProductionExceptionHandler.Response.resume(); // never answer a refused dead letter with another
        }
        return ProductionExceptionHandler.Response.resume(List.of(deadLetter(context, RECORD_TOO_LARGE, String.format(
                "the curator could not write a record of %,d bytes to %s (%s) while processing this record; it was "
                        + "skipped. Raise max.message.bytes of %s (and the curator's max.request.size) or send smaller inputs",
                size, record.topic(), e.getMessage(), record.topic()), e)));
    }

    /**
     * Whether {@code e} comes from the state stores (RocksDB failing: files gone, disk full, I/O errors) rather than
     * from the record: then every record would fail the same way.
     */
    static boolean stateFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.kafka.streams.errors.ProcessorStateException
                    || t.getClass().getName().equals("org.rocksdb.RocksDBException")) {
                return true;
            }
        }
        return false;
    }

    private ProducerRecord<byte[], byte[]> deadLetter(ErrorHandlerContext c, String reason, String message, Exception e) {
        String topic = c.topic() == null ? "(punctuation)" : c.topic();
        DeadLetter letter = io.rehearsal.schemas.DeadLetters.of(new io.rehearsal.schemas.DeadLetters.Origin(topic,
                c.partition(), c.offset(), c.sourceRawKey(), c.sourceRawValue()), DeadLetters.COMPONENT, reason, message,
                e.getClass().getName(), Instant.now());
        return new ProducerRecord<>(topics.deadLetters().name(), io.rehearsal.schemas.DeadLetters.recordKey(c.sourceRawKey()),
                topics.deadLetters().serializeValue(letter));
    }

    /** The kind of output a topic is, as the bounded {@code output} tag spells it. */
    private String outputOf(String topic) {
        if (topic.equals(topics.trainBatches().name())) {
            return "train-batches";
        }
        if (topic.equals(topics.deadLetters().name())) {
            return "dead-letters";
        }
        if (topic.equals(topics.reroute().name())) {
            return "reroute";
        }
        return topic.endsWith("-changelog") ? "changelog" : "other";
    }
}
