package io.rehearsal.streams;

import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;
import org.apache.kafka.common.errors.ApplicationRecoverableException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TransactionAbortableException;
import org.apache.kafka.common.errors.UnknownProducerIdException;
import org.apache.kafka.streams.errors.LockException;
import org.apache.kafka.streams.errors.MissingSourceTopicException;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.errors.TaskCorruptedException;
import org.apache.kafka.streams.errors.TaskMigratedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the curator does when a stream thread dies. Kafka Streams handles most broker faults inside the
 * thread, but a few reach this handler as a dead thread: a transaction the broker told the producer to abort
 * ({@link TransactionAbortableException}, e.g. when a partition leader cannot reach the transaction
 * coordinator to verify a write), a commit or send that the exactly-once producer cannot finish while
 * leaders and coordinators move, a source topic whose metadata is missing during a rebalance. None is
 * the curator's fault and all pass: the answer is {@code REPLACE_THREAD} (a new thread with a new
 * producer rejoins the group; the dead thread's open transaction is aborted and its input processed again
 * from the last commit, so exactly-once holds), counted in {@code rehearsal_curator_thread_replacements_total}.
 *
 * <p>Two things still stop the curator ({@code SHUTDOWN_CLIENT}; its supervisor restarts it): a failure of
 * the state stores (RocksDB files gone, disk full: the same test as {@link CuratorErrorHandler}, and a new
 * thread would fail on the same store), and any other error (a bug, an authorization error). And a bound:
 * more than {@link #MAX_REPLACEMENTS} replacements within {@link #WINDOW} means the fault is not passing,
 * and the curator stops as well, so that a broken deployment crash-loops visibly instead of spinning.
 */
final class StreamThreadFailures implements StreamsUncaughtExceptionHandler {
    /** Replacements allowed within {@link #WINDOW}; the next transient failure in it stops the curator. */
    static final int MAX_REPLACEMENTS = 5;
    static final Duration WINDOW = Duration.ofMinutes(10);
    /** The {@code cause} tag's values. */
    static final List<String> CAUSES = List.of("transaction", "timeout", "retriable", "rebalance");
    private static final Logger LOG = LoggerFactory.getLogger(StreamThreadFailures.class);

    private final CuratorMetrics metrics;
    private final LongSupplier nanoClock;
    private final Deque<Long> replacements = new ArrayDeque<>();

    StreamThreadFailures(CuratorMetrics metrics) {
        this(metrics, System::nanoTime);
    }

    StreamThreadFailures(CuratorMetrics metrics, LongSupplier nanoClock) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        CAUSES.forEach(metrics::threadReplacementsMeter);
    }

    @Override
    public synchronized StreamThreadExceptionResponse handle(Throwable e) {
        if (CuratorErrorHandler.stateFailure(e)) {
            LOG.error("a curator stream thread died because its state store failed; shutting the curator down, so that its "
                    + "restart restores the stores from their changelogs", e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        String cause = transientCause(e);
        if (cause == null) {
            LOG.error("a curator stream thread died of an error that does not pass by itself; shutting the curator down", e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        long now = nanoClock.getAsLong();
        while (!replacements.isEmpty() && now - replacements.peekFirst() >= WINDOW.toNanos()) {
            replacements.removeFirst();
        }
        if (replacements.size() >= MAX_REPLACEMENTS) {
            LOG.error("a curator stream thread died of a transient broker fault ({}), but {} threads were already replaced "
                    + "within {}: the fault is not passing; shutting the curator down", cause, replacements.size(), WINDOW, e);
            return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        }
        replacements.addLast(now);
        metrics.threadReplaced(cause);
        LOG.warn("a curator stream thread died of a transient broker fault ({}); replacing it ({} of at most {} within {}): "
                + "its open transaction is aborted and its input processed again from the last commit", cause,
                replacements.size(), MAX_REPLACEMENTS, WINDOW, e);
        return StreamThreadExceptionResponse.REPLACE_THREAD;
    }

    /**
     * The {@code cause} tag of {@code e} when something in its cause chain is a fault that passes (leaders or the
     * transaction coordinator moving, a rebalance), or null.
     */
    static String transientCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof TransactionAbortableException || t instanceof ApplicationRecoverableException
                    || t instanceof InvalidPidMappingException || t instanceof UnknownProducerIdException
                    || t instanceof OutOfOrderSequenceException) {
                return "transaction";
            }
            if (t instanceof TimeoutException) {
                return "timeout";
            }
            if (t instanceof RetriableException) {
                return "retriable";
            }
            if (t instanceof TaskMigratedException || t instanceof TaskCorruptedException
                    || t instanceof MissingSourceTopicException || t instanceof LockException) {
                return "rebalance";
            }
        }
        return null;
    }
}
