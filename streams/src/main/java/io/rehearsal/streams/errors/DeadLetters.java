package io.rehearsal.streams.errors;

import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.DeadLetter;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the curator's {@link DeadLetter}s (component {@value #COMPONENT}), bounded as
 * {@link io.rehearsal.schemas.DeadLetters} makes every dead letter, and logs each one with its
 * topic/partition/offset, so a bad record is visible in three places: the log, the dead-letter topic
 * and the {@code rehearsal.curator.dead.letters} counter.
 */
public final class DeadLetters {
    public static final String COMPONENT = "curator";
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetters.class);

    private DeadLetters() {
    }

    /** A record that did not decode or validate. */
    public static DeadLetter undecodable(Source source, RecordDecodeException e, long now) {
        return build(source, e.reason().name(), e.getMessage(), e.getClass().getName(), now);
    }

    /** A record the curator refused for one of its own reasons. */
    public static DeadLetter refused(Source source, DeadLetterReason reason, String message, long now) {
        return build(source, reason.name(), message, null, now);
    }

    private static DeadLetter build(Source s, String reason, String message, String errorClass, long now) {
        LOG.warn("dead letter {} from {}-{}@{}: {}", reason, s.topic(), s.partition(), s.offset(),
                io.rehearsal.schemas.DeadLetters.cut(message, 512));
        return io.rehearsal.schemas.DeadLetters.of(
                new io.rehearsal.schemas.DeadLetters.Origin(s.topic(), s.partition(), s.offset(), s.key(), s.payload()),
                COMPONENT, reason, message, errorClass, Instant.ofEpochMilli(now));
    }
}
