package io.rehearsal.streams;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.errors.DeadLetterReason;
import io.rehearsal.streams.errors.Source;
import io.rehearsal.streams.metrics.CuratorMetrics;
import io.rehearsal.streams.state.CuratorStores;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The Kafka Streams side of one shard: reads the three inputs as bytes and hands each record to the
 * shard's handler for it ({@link SampleIntake}, {@link FeedbackIntake}; a rerouted record to the one of
 * its origin), runs the shard's timers ({@link ShardTimers}) as punctuations, and forwards what the shard
 * emits to the sinks ({@link ShardOutputs}). Decoding happens in the handlers, so every bad record becomes
 * a dead letter in the same transaction instead of stopping the stream. See {@link CuratorTopology} for
 * the wiring and docs/curator.md for the rules.
 */
final class CuratorProcessor implements Processor<byte[], byte[], Object, Object>, ShardOutputs {
    private final CuratorSettings settings;
    private final Topics topics;
    private final CuratorMetrics metrics;

    private ProcessorContext<Object, Object> context;
    private Shard shard;
    private SampleIntake samples;
    private FeedbackIntake feedback;

    CuratorProcessor(CuratorSettings settings, Topics topics, CuratorMetrics metrics) {
        this.settings = settings;
        this.topics = topics;
        this.metrics = metrics;
    }

    @Override
    public void init(ProcessorContext<Object, Object> context) {
        this.context = context;
        this.shard = new Shard(context.taskId().partition(), settings, topics, metrics, CuratorStores.from(context), this);
        this.samples = new SampleIntake(shard);
        this.feedback = new FeedbackIntake(shard);
        ShardTimers timers = new ShardTimers(shard);
        context.schedule(ShardTimers.EXPIRY_TICK, PunctuationType.STREAM_TIME, timers::onStreamTime);
        Duration tick = ShardTimers.wallClockTick(settings);
        if (tick != null) {
            context.schedule(tick, PunctuationType.WALL_CLOCK_TIME, timers::onWallClock);
        }
        shard.publishAll();
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        RecordMetadata meta = context.recordMetadata().orElseThrow();
        Source read = new Source(meta.topic(), meta.partition(), meta.offset(), record.key(), record.value(), record.timestamp());
        if (meta.topic().equals(topics.samples().name())) {
            samples.accept(read, false);
        } else if (meta.topic().equals(topics.feedback().name())) {
            feedback.accept(read, false);
        } else {
            rerouted(read, record.headers());
        }
    }

    /**
     * A record the curator itself forwarded from the partition it was written to: processed here, on the
     * shard of its sample id, as if read at its origin (which its dead letters name).
     */
    private void rerouted(Source read, Headers headers) {
        Optional<Reroute.Origin> origin = Reroute.origin(headers);
        if (origin.isEmpty()) {
            shard.refuse(read, DeadLetterReason.UNKNOWN_ORIGIN, "record on " + read.topic() + " has no origin headers ("
                    + Reroute.INPUT_HEADER + ", ...): the curator writes this topic itself; produce samples to "
                    + topics.samples().name() + " and feedback to " + topics.feedback().name());
            return;
        }
        Reroute.Origin o = origin.get();
        Source src = new Source(o.topic(), o.partition(), o.offset(), read.key(), read.payload(), read.timestamp());
        if (o.input() == Reroute.Input.SAMPLES) {
            samples.accept(src, true);
        } else {
            feedback.accept(src, true);
        }
    }

    @Override
    public void close() {
        metrics.shardClosed(shard.id);
    }

    // ---- ShardOutputs ----

    @Override
    public void batches(List<TrainBatch> batches, long now) {
        for (TrainBatch b : batches) {
            context.forward(new Record<Object, Object>(b.getModelId(), b, now), CuratorTopology.BATCHES_SINK);
        }
    }

    @Override
    public void deadLetter(byte[] originalKey, DeadLetter letter, long now) {
        context.forward(new Record<Object, Object>(io.rehearsal.schemas.DeadLetters.recordKey(originalKey), letter, now),
                CuratorTopology.DEAD_LETTERS_SINK);
    }

    @Override
    public void features(String sampleId, SampleFeatures features, Headers headers, long timestamp) {
        context.forward(new Record<Object, Object>(sampleId, features, timestamp, headers), CuratorTopology.FEATURES_SINK);
    }

    @Override
    public void reroute(Source src, Reroute.Input input, String sampleId) {
        context.forward(new Record<Object, Object>(sampleId.getBytes(StandardCharsets.UTF_8), src.payload(), src.timestamp(),
                Reroute.headers(input, src)), CuratorTopology.REROUTE_SINK);
    }

    @Override
    public long now() {
        return context.currentSystemTimeMs();
    }

    @Override
    public long streamTime() {
        return context.currentStreamTimeMs();
    }
}
