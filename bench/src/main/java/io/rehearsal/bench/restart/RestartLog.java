package io.rehearsal.bench.restart;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a restarted curator's time went, read from its log (lines start with {@code HH:mm:ss.SSS}): the
 * JVM and topic check up to "curator ... started", the changelog restore ({@code RestoreLog}), the
 * in-memory index rebuild ({@code SampleMemory}), and the moment Kafka Streams went RUNNING. Times are
 * milliseconds after the process was started; -1 where the log has no such line.
 *
 * @param startedMs       "curator ... started" (JVM up, topics checked, Streams client started)
 * @param restoreStartMs  first store restore began (after the rebalance gave the shard)
 * @param restoreEndMs    last store restore ended
 * @param restoredRecords changelog records read, all stores
 * @param indexedEntries  sample entries loaded into the in-memory indexes
 * @param indexMs         time the index rebuild took
 * @param runningMs       last transition to RUNNING
 * @param wiped           whether Kafka Streams wiped the local state (TaskCorruptedException after an unclean stop)
 */
public record RestartLog(long startedMs, long restoreStartMs, long restoreEndMs, long restoredRecords, long indexedEntries,
                  long indexMs, long runningMs, boolean wiped) {
    private static final Pattern STARTED = Pattern.compile("curator \\S+ started:");
    private static final Pattern RESTORING = Pattern.compile("restoring store \\S+ from \\S+: offsets");
    private static final Pattern RESTORED = Pattern.compile("restored store \\S+ from \\S+: (\\d+) records in");
    private static final Pattern INDEXED = Pattern.compile("loaded and indexed (\\d+) sample entries in (\\d+) ms");
    private static final Pattern RUNNING = Pattern.compile("State transition from \\S+ to RUNNING");
    private static final Pattern WIPED = Pattern.compile("TaskCorrupted|did not find checkpoint offsets|Wiping state stores");

    /** Reads {@code log} of a process started at {@code startedAt} (wall clock). */
    static RestartLog read(Path log, Instant startedAt) throws IOException {
        long origin = LocalTime.ofInstant(startedAt, ZoneId.systemDefault()).toNanoOfDay() / 1_000_000;
        long started = -1;
        long restoreStart = -1;
        long restoreEnd = -1;
        long restored = 0;
        long indexed = 0;
        long indexMs = 0;
        long running = -1;
        boolean wiped = false;
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        for (String line : lines) {
            long at = at(line, origin);
            Matcher m;
            if (WIPED.matcher(line).find()) {
                wiped = true;
            }
            if (at < 0) {
                continue;
            }
            if (started < 0 && STARTED.matcher(line).find()) {
                started = at;
            } else if (RESTORING.matcher(line).find()) {
                restoreStart = restoreStart < 0 ? at : Math.min(restoreStart, at);
            } else if ((m = RESTORED.matcher(line)).find()) {
                restored += Long.parseLong(m.group(1));
                restoreEnd = Math.max(restoreEnd, at);
            } else if ((m = INDEXED.matcher(line)).find()) {
                indexed += Long.parseLong(m.group(1));
                indexMs += Long.parseLong(m.group(2));
            } else if (RUNNING.matcher(line).find()) {
                running = at;
            }
        }
        return new RestartLog(started, restoreStart, restoreEnd, restored, indexed, indexMs, running, wiped);
    }

    /** Milliseconds after {@code origin} (ms of the day) of a line starting with HH:mm:ss.SSS, or -1. */
    private static long at(String line, long origin) {
        if (line.length() < 12 || line.charAt(2) != ':' || line.charAt(8) != '.') {
            return -1;
        }
        try {
            long ms = LocalTime.parse(line.substring(0, 12)).toNanoOfDay() / 1_000_000;
            return ms >= origin ? ms - origin : ms + 86_400_000L - origin;
        } catch (DateTimeParseException e) {
            return -1;
        }
    }

    /** The restore's duration, or -1. */
    public long restoreMs() {
        return restoreStartMs < 0 || restoreEndMs < 0 ? -1 : restoreEndMs - restoreStartMs;
    }
}
