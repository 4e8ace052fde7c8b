package io.rehearsal.schemas;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one lifecycle of a thread that polls Kafka for a component (a subscriber following snapshots, a
 * predictor answering requests): a daemon thread runs the work until told to stop; {@link #close} says
 * stop, wakes the blocked poll ({@code wakeup}), and waits a bounded time, so a stopping process is gone
 * in seconds; a failure of the work is kept and handed to {@code onFailure}, and the resources the
 * thread owns (its consumer: Kafka clients are not thread-safe) are closed on the thread itself.
 *
 * <pre>{@code
 * PollingWorker worker = PollingWorker.start("predictor-" + model, stopping -> {
 *     while (!stopping.get()) { handle(consumer.poll(timeout)); }
 * }, consumer::wakeup, () -> consumer.close(CloseOptions.timeout(wait)), this::fail, Duration.ofMillis(1500));
 * }</pre>
 */
public final class PollingWorker implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PollingWorker.class);

    /** What the thread does until {@code stopping} is true. */
    @FunctionalInterface
    public interface Work {
        void run(Stopping stopping) throws Exception;
    }

    /** Whether the worker was told to stop, and a way to wait for it without polling. */
    public interface Stopping {
        boolean get();

        /** Waits until told to stop or {@code timeout} passes; true if told to stop. */
        boolean await(Duration timeout) throws InterruptedException;
    }

    private final String name;
    private final Runnable wakeup;
    private final Duration closeWait;
    private final CountDownLatch stop = new CountDownLatch(1);
    private final Thread thread;
    private volatile RuntimeException failure;

    private PollingWorker(String name, Work work, Runnable wakeup, Runnable finish, Consumer<RuntimeException> onFailure,
                          Duration closeWait) {
        this.name = name;
        this.wakeup = wakeup;
        this.closeWait = closeWait;
        Stopping stopping = new Stopping() {
            @Override
            public boolean get() {
                return stop.getCount() == 0;
            }

            @Override
            public boolean await(Duration timeout) throws InterruptedException {
                return stop.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        };
        this.thread = new Thread(() -> {
            try {
                work.run(stopping);
            } catch (WakeupException e) {
                if (!stopping.get()) {
                    failed(e, onFailure);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                if (!stopping.get()) {
                    failed(e, onFailure); // after a stop, an error is collateral: resources closing under the work
                }
            } catch (Exception e) {
                if (!stopping.get()) {
                    failed(new IllegalStateException(name + " failed: " + e, e), onFailure);
                }
            } finally {
                finish.run();
            }
        }, name);
        thread.setDaemon(true);
    }

    /**
     * Starts {@code work} on a daemon thread named {@code name}.
     *
     * @param wakeup    wakes the work from a blocking call (e.g. {@code consumer::wakeup}); safe from any thread
     * @param finish    runs on the thread when the work ends, however it ends (close its consumer here)
     * @param onFailure told when the work ends with an exception other than the wakeup of a close
     * @param closeWait how long {@link #close} waits for the thread
     */
    public static PollingWorker start(String name, Work work, Runnable wakeup, Runnable finish,
                                      Consumer<RuntimeException> onFailure, Duration closeWait) {
        PollingWorker w = new PollingWorker(Objects.requireNonNull(name, "name"), Objects.requireNonNull(work, "work"),
                Objects.requireNonNull(wakeup, "wakeup"), Objects.requireNonNull(finish, "finish"),
                Objects.requireNonNull(onFailure, "onFailure"), Objects.requireNonNull(closeWait, "closeWait"));
        w.thread.start();
        return w;
    }

    private void failed(RuntimeException e, Consumer<RuntimeException> onFailure) {
        failure = e;
        onFailure.accept(e);
    }

    /** Whether the work is still running. */
    public boolean alive() {
        return thread.isAlive();
    }

    /** Why the work ended, if it ended on its own with an exception. */
    public Optional<RuntimeException> failure() {
        return Optional.ofNullable(failure);
    }

    /** Tells the work to stop and wakes it, without waiting (see {@link #close}). */
    public void stop() {
        stop.countDown();
        wakeup.run();
    }

    /** Tells the work to stop, wakes it, and waits at most {@code closeWait} for the thread. */
    @Override
    public void close() {
        stop();
        try {
            thread.join(closeWait.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            LOG.warn("{} did not stop within {} ms; going on without it (a daemon thread)", name, closeWait.toMillis());
        }
    }
}
