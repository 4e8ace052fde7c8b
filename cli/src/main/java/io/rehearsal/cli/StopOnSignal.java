package io.rehearsal.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * How a long-running command stops on SIGTERM (Kubernetes, systemd, Ctrl-C): a shutdown hook closes the
 * component, waiting at most {@link #BUDGET} for it, so the process is gone within 5 s whatever the
 * component's clients are waiting for (the rest is the JVM's own exit). The JVM then exits with status 143
 * (128 + SIGTERM). A component cut short loses nothing it had acknowledged: the curator's and the trainer's
 * uncommitted transactions are aborted and redone, the predictor's unacknowledged requests answered again,
 * and a broker's log is recovered on its next start.
 */
final class StopOnSignal {
    /** The longest a shutdown hook waits for its component to close. */
    static final Duration BUDGET = Duration.ofSeconds(4);

    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean signalled;

    private StopOnSignal() {
    }

    /** Installs a hook that runs {@code stop} (on a thread of its own) and waits for it at most {@link #BUDGET}. */
    static StopOnSignal install(String component, Runnable stop) {
        StopOnSignal signal = new StopOnSignal();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            signal.signalled = true;
            Thread closer = new Thread(stop, component + "-stop");
            closer.setDaemon(true);
            closer.start();
            try {
                closer.join(BUDGET.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (closer.isAlive()) {
                System.err.printf("%s did not finish stopping within %d s; exiting anyway%n", component, BUDGET.toSeconds());
            }
            signal.stopped.countDown();
        }, component + "-shutdown"));
        return signal;
    }

    /** Whether the process is stopping (the hook has begun): a component that stops now was told to. */
    boolean signalled() {
        return signalled;
    }

    /** Waits up to {@code timeout} for the signal's stop to have run; true once it has. */
    boolean await(long timeout, TimeUnit unit) throws InterruptedException {
        return stopped.await(timeout, unit);
    }

    /** Waits until the signal's stop has run. */
    void await() throws InterruptedException {
        stopped.await();
    }
}
