package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;

class CuratorErrorHandlerTest {
    private final Topics topics = Topics.defaults();
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final CuratorErrorHandler handler = new CuratorErrorHandler();
    private final byte[] raw = new byte[3 << 20];

    CuratorErrorHandlerTest() {
        Map<String, Object> configs = new HashMap<>(CuratorErrorHandler.configs(new CuratorMetrics(registry), topics));
        handler.configure(configs);
    }

    /** The context of a 3 MiB sample at rehearsal.samples-2@41. */
    private ErrorHandlerContext context() {
        return new ErrorHandlerContext() {
            public String topic() { return topics.samples().name(); }
            public int partition() { return 2; }
            public long offset() { return 41; }
            public Headers headers() { return new RecordHeaders(); }
            public String processorNodeId() { return "curator"; }
            public TaskId taskId() { return new TaskId(0, 2); }
            public long timestamp() { return 0; }
            public byte[] sourceRawKey() { return "s41".getBytes(); }
            public byte[] sourceRawValue() { return raw; }
        };
    }

    @Test
    void shouldSkipARecordKafkaRefusesAsTooLargeAndDeadLetterItsSource() {
        ProducerRecord<byte[], byte[]> batch = new ProducerRecord<>(topics.trainBatches().name(), new byte[9 << 20]);

        ProductionExceptionHandler.Response r = handler.handleError(context(), batch, new RecordTooLargeException("too large"));

        assertThat(r.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).singleElement().satisfies(dlq -> {
            assertThat(dlq.topic()).isEqualTo(topics.deadLetters().name());
            DeadLetter d = topics.deadLetters().deserializeValue(dlq.value());
            assertThat(d.getReason()).isEqualTo("RECORD_TOO_LARGE");
            assertThat(d.getSourceTopic()).isEqualTo(topics.samples().name());
            assertThat(d.getSourcePartition()).isEqualTo(2);
            assertThat(d.getSourceOffset()).isEqualTo(41);
            assertThat(d.getPayloadSize()).isEqualTo(raw.length);
            assertThat(d.getMessage()).contains(topics.trainBatches().name()).contains("9,437,184");
            assertThat(dlq.value().length).isLessThan(topics.deadLetters().maxMessageBytes());
        });
        assertThat(registry.get("rehearsal.curator.writes.skipped").tag("output", "train-batches").counter().count()).isEqualTo(1.0);
    }

    @Test
    void shouldStopInsteadOfSkippingRecordsWhenAStateStoreFails() {
        // a RocksDB store whose files were deleted under it fails every put: skipping would dead-letter good data
        Exception storeFailure = new org.apache.kafka.streams.errors.ProcessorStateException(
                "Error while putting key/value into store curator-samples",
                new org.rocksdb.RocksDBException("While open a file for appending: 000011.sst: No such file or directory"));
        Record<byte[], byte[]> sample = new Record<>("s41".getBytes(), raw, 0L);

        ProcessingExceptionHandler.Response r = handler.handleError(context(), sample,
                new org.apache.kafka.streams.errors.StreamsException("processing failed", storeFailure));

        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.FAIL);
        assertThat(r.deadLetterQueueRecords()).isEmpty();
        assertThat(registry.find("rehearsal.curator.dead.letters").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
    }

    @Test
    void shouldNotAnswerARefusedDeadLetterWithAnother() {
        ProducerRecord<byte[], byte[]> letter = new ProducerRecord<>(topics.deadLetters().name(), new byte[2 << 20]);

        ProductionExceptionHandler.Response r = handler.handleError(context(), letter, new RecordTooLargeException("too large"));

        assertThat(r.result()).isEqualTo(ProductionExceptionHandler.Result.RESUME);
        assertThat(r.deadLetterQueueRecords()).isEmpty();
    }

    @Test
    void shouldRetryAWriteThatFailedWithARetriableBrokerErrorAndCountIt() {
        // Given a batch the broker could not take while the partition had too few in-sync replicas
        ProducerRecord<byte[], byte[]> batch = new ProducerRecord<>(topics.trainBatches().name(), new byte[10]);

        ProductionExceptionHandler.Response r = handler.handleError(context(), batch,
                new NotEnoughReplicasException("Messages are rejected since there are fewer in-sync replicas than required."));

        // Then the task is retried (processed again from its last commit), nothing dead-lettered, and it is counted
        assertThat(r.result()).isEqualTo(ProductionExceptionHandler.Result.RETRY);
        assertThat(r.deadLetterQueueRecords()).isEmpty();
        assertThat(registry.get("rehearsal.curator.writes.retried").tag("output", "train-batches").counter().count()).isEqualTo(1.0);
    }

    @Test
    void shouldFailOnOtherProductionErrors() {
        ProducerRecord<byte[], byte[]> batch = new ProducerRecord<>(topics.trainBatches().name(), new byte[10]);

        ProductionExceptionHandler.Response r = handler.handleError(context(), batch, new AuthorizationException("denied"));

        assertThat(r.result()).isEqualTo(ProductionExceptionHandler.Result.FAIL);
    }

    @Test
    void shouldSkipARecordWhoseProcessingThrowsAndDeadLetterIt() {
        Record<byte[], byte[]> record = new Record<>("s41".getBytes(), raw, 0L);

        ProcessingExceptionHandler.Response r = handler.handleError(context(), record, new IllegalStateException("a bug"));

        assertThat(r.result()).isEqualTo(ProcessingExceptionHandler.Result.RESUME);
        DeadLetter d = topics.deadLetters().deserializeValue(r.deadLetterQueueRecords().get(0).value());
        assertThat(d.getReason()).isEqualTo("PROCESSING_ERROR");
        assertThat(d.getMessage()).contains("a bug");
        assertThat(d.getErrorClass()).isEqualTo(IllegalStateException.class.getName());
        assertThat(registry.get("rehearsal.curator.dead.letters").tag("reason", "PROCESSING_ERROR").counter().count()).isEqualTo(1.0);
    }
}
