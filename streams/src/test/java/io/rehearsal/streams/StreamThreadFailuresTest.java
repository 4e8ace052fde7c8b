package io.rehearsal.streams;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.streams.errors.MissingSourceTopicException;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import org.junit.jupiter.api.Test;

class StreamThreadFailuresTest {
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final StreamThreadFailures failures = new StreamThreadFailures(new CuratorMetrics(registry), now::get);

    /** What RecordCollectorImpl throws when a send's callback got the broker's TRANSACTION_ABORTABLE. */
    private static StreamsException abortableSend() {
        return new StreamsException("Error encountered sending record to topic chaos.train-batches for task 0_0 due to: "
                + "org.apache.kafka.common.errors.TransactionAbortableException",
                new TransactionAbortableException("Transaction Request was aborted after exhausting retries."));
    }

    private double replacements(String cause) {
        return registry.get("rehearsal.curator.thread.replacements").tag("cause", cause).counter().count();
    }

    @Test
    void shouldReplaceAThreadThatDiedOfATransientBrokerFaultAndCountIt() {
        // Given a thread killed by an aborted transaction, one by a commit timeout, one by a missing source topic
        // When each reaches the handler
        // Then each is replaced by a new thread, and counted by cause
        assertThat(failures.handle(abortableSend())).isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
        assertThat(failures.handle(new StreamsException("commit failed", new TimeoutException("Timeout expired after 60000ms"))))
                .isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
        assertThat(failures.handle(new MissingSourceTopicException("One or more source topics were missing during rebalance")))
                .isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
        assertThat(replacements("transaction")).isEqualTo(1.0);
        assertThat(replacements("timeout")).isEqualTo(1.0);
        assertThat(replacements("rebalance")).isEqualTo(1.0);
        assertThat(replacements("retriable")).isZero();
    }

    @Test
    void shouldStopTheCuratorWhenAStateStoreFailsEvenIfATimeoutIsInTheChain() {
        // Given a store failure (RocksDB files gone) wrapped around a timeout
        StreamsException storeFailure = new StreamsException("task 0_0 failed", new ProcessorStateException(
                "Error while putting key/value into store curator-samples",
                new org.rocksdb.RocksDBException("While open a file for appending: 000011.sst: No such file or directory")));
        ProcessorStateException flushTimeout = new ProcessorStateException("flush failed", new TimeoutException("slow"));

        // Then the curator stops: a new thread would fail on the same store, a restart restores it
        assertThat(failures.handle(storeFailure)).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
        assertThat(failures.handle(flushTimeout)).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
        assertThat(registry.find("rehearsal.curator.thread.replacements").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
    }

    @Test
    void shouldStopTheCuratorOnErrorsThatDoNotPass() {
        assertThat(failures.handle(new StreamsException("send failed", new AuthorizationException("denied"))))
                .isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
        assertThat(failures.handle(new IllegalStateException("a bug"))).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
    }

    @Test
    void shouldStopTheCuratorWhenTransientFaultsKeepComingAndReplaceAgainOnceTheyAreOld() {
        // Given the most replacements allowed within the window
        for (int i = 0; i < StreamThreadFailures.MAX_REPLACEMENTS; i++) {
            assertThat(failures.handle(abortableSend())).isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
            now.addAndGet(Duration.ofSeconds(10).toNanos());
        }
        // When one more comes within the window, the fault is not passing: the curator stops
        assertThat(failures.handle(abortableSend())).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
        assertThat(replacements("transaction")).isEqualTo(StreamThreadFailures.MAX_REPLACEMENTS);

        // When the window has passed since the first replacement (and not since the second), one more is allowed
        now.addAndGet(StreamThreadFailures.WINDOW.minusSeconds(45).toNanos());
        assertThat(failures.handle(abortableSend())).isEqualTo(StreamThreadExceptionResponse.REPLACE_THREAD);
        assertThat(failures.handle(abortableSend())).isEqualTo(StreamThreadExceptionResponse.SHUTDOWN_CLIENT);
    }
}
