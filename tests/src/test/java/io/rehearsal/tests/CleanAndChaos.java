package io.rehearsal.tests;

import io.rehearsal.bench.chaos.ChaosReport;
import io.rehearsal.bench.chaos.ChaosResult;
import io.rehearsal.bench.chaos.ChaosRun;
import io.rehearsal.bench.chaos.ChaosSettings;
import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.bench.data.FashionMnist;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

/**
 * The chaos ITs' two runs of one stream at once: the clean run (the reference) on brokers of its own beside the run
 * with faults, which saves the clean run's wall time in CI. The clean run's console goes to a buffer, printed after
 * the chaos run's, so that the two do not interleave. Results do not depend on the timing either run sees: both
 * compose their batches by stream position, and the checks compare topics and weights.
 */
final class CleanAndChaos {
    /** The two results, the clean run's and the chaos run's, and the report comparing them (printed). */
    record Runs(ChaosResult clean, ChaosResult chaos, ChaosReport report) {
    }

    private CleanAndChaos() {
    }

    /** Both runs of the settings' stream on the bundled Fashion-MNIST subset; the report compares them at 1 point. */
    static Runs run(ChaosSettings settings) throws Exception {
        ClassIncrementalStream stream = ClassIncrementalStream.build(FashionMnist.bundledSubset(), settings.stream());
        long waitMinutes = settings.timeout().toMinutes() + 1;
        ByteArrayOutputStream cleanLog = new ByteArrayOutputStream();
        CompletableFuture<ChaosResult> cleanRun = CompletableFuture.supplyAsync(() -> {
            try (PrintStream out = new PrintStream(cleanLog, true, StandardCharsets.UTF_8)) {
                return ChaosRun.run(settings.clean(), stream, out);
            } catch (Exception e) {
                throw new CompletionException(e);
            }
        });
        ChaosResult chaos;
        try {
            chaos = ChaosRun.run(settings, stream, System.out);
        } catch (Exception e) {
            // the clean run still uses the temporary directory: wait for it before failing
            try {
                cleanRun.get(waitMinutes, TimeUnit.MINUTES);
            } catch (Exception cleanFailure) {
                e.addSuppressed(cleanFailure);
            }
            System.out.print(cleanLog.toString(StandardCharsets.UTF_8));
            throw e;
        }
        ChaosResult clean;
        try {
            clean = cleanRun.get(waitMinutes, TimeUnit.MINUTES);
        } finally {
            System.out.print(cleanLog.toString(StandardCharsets.UTF_8));
        }
        ChaosReport report = new ChaosReport(clean, chaos, 0.01);
        System.out.println(report.markdown());
        return new Runs(clean, chaos, report);
    }
}
