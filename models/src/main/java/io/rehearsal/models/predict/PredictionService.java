package io.rehearsal.models.predict;

import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.metrics.KafkaClientMeters;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.NoModelException;
import io.rehearsal.schemas.ClientConfig;
import io.rehearsal.schemas.DeadLetters;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.PollingWorker;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prediction service of one model: a {@link ModelSubscriber} serving the newest verified snapshot,
 * answering requests from two sides.
 *
 * <ul>
 *   <li><b>Kafka</b>: unlabeled samples of the model on {@code rehearsal.samples} (consumer group
 *       {@code rehearsal-predictor-<model>}, so instances share the partitions) are predicted in batches
 *       and each {@link Prediction}, with the model version that made it, goes to
 *       {@code rehearsal.predictions} (key: sample id). Labeled samples and other models' samples are
 *       skipped; records that do not decode or do not fit the model go to {@code rehearsal.dead-letters}
 *       with the reason. Offsets are committed after the predictions are acknowledged: at least once.
 *       Nothing is consumed until a model is served.</li>
 *   <li><b>In process / HTTP</b> ({@link PredictionHttpApi}): {@link #predict}, {@link #sendFeedback}.</li>
 * </ul>
 */
public final class PredictionService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PredictionService.class);
    static final String COMPONENT = "predictor";
    /** The longest each client's close waits for the broker (see {@link #close}). */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

    private final PredictorSettings settings;
    private final Topics topics;
    private final String bootstrapServers;
    private final Map<String, Object> kafkaProperties;
    private final MeterRegistry registry;
    private final PredictorMetrics metrics;
    private final Producer<byte[], byte[]> producer;
    private final FeedbackSender feedback;
    private final KafkaClientMeters clientMeters;
    private volatile ModelSubscriber subscriber;
    private volatile PollingWorker requests;
    private volatile boolean closing;
    private volatile RuntimeException failure;

    /**
     * A service that follows the model on Kafka and answers requests from the samples topic once
     * {@link #start started}.
     *
     * @param kafkaProperties extra client settings (TLS, SASL...) for every consumer and producer
     * @param registry        where the {@code rehearsal.predictor.*} and {@code rehearsal.subscriber.*} meters go,
     *                        and the {@code kafka.consumer.*} and {@code kafka.producer.*} meters of its
     *                        request consumer and its producer
     */
    public PredictionService(PredictorSettings settings, Topics topics, String bootstrapServers,
                             Map<String, Object> kafkaProperties, MeterRegistry registry) {
        this(settings, topics, bootstrapServers, kafkaProperties, registry, null, null);
    }

    private PredictionService(PredictorSettings settings, Topics topics, String bootstrapServers,
                              Map<String, Object> kafkaProperties, MeterRegistry registry,
                              Producer<byte[], byte[]> producer, ModelSubscriber subscriber) {
        this.settings = settings;
        this.topics = topics;
        this.bootstrapServers = bootstrapServers;
        this.kafkaProperties = Map.copyOf(kafkaProperties);
        this.registry = registry;
        this.metrics = new PredictorMetrics(registry, settings.modelId());
        this.producer = producer != null ? producer : new KafkaProducer<>(producerConfig());
        this.feedback = new FeedbackSender(topics, this.producer);
        this.subscriber = subscriber;
        this.clientMeters = new KafkaClientMeters(registry, "predictor-client-metrics").bind(this.producer);
    }

    /**
     * A service over a subscriber you already have (e.g. {@link ModelSubscriber#detached}): it answers
     * in-process and HTTP calls only, consumes no requests, and writes feedback with {@code producer}.
     * It owns both and closes them.
     */
    public static PredictionService serving(PredictorSettings settings, Topics topics, ModelSubscriber subscriber,
                                            Producer<byte[], byte[]> producer, MeterRegistry registry) {
        return new PredictionService(settings, topics, null, Map.of(), registry, producer, subscriber);
    }

    /** Its producer: the largest record the topics it writes accept, no more, no less. */
    Map<String, Object> producerConfig() {
        return ClientConfig.producer(bootstrapServers, topics.predictions(), topics.feedback(), topics.deadLetters())
                .withDefault(ProducerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-producer")
                .over(kafkaProperties);
    }

    private Map<String, Object> consumerConfig() {
        return ClientConfig.consumer(bootstrapServers)
                .withDefault(ConsumerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-requests")
                // a new group answers the requests already waiting on the topic
                .withDefault(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest")
                .withDefault(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords())
                // not negotiable: the group shares the work, and offsets move only after predictions are acknowledged
                .inGroup(settings.groupId())
                .over(kafkaProperties);
    }

    /**
     * Subscribes to the model (returning once the latest snapshot is served, or after the subscriber's
     * start timeout), then starts consuming requests on a thread of its own. Does nothing for a
     * {@link #serving} service or one already started.
     */
    public PredictionService start() {
        if (subscriber != null) {
            return this;
        }
        subscriber = ModelSubscriber.start(settings.subscriber(), topics, bootstrapServers, kafkaProperties, registry);
        Consumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig());
        clientMeters.bind(consumer);
        // closing leaves the group, so its partitions move at once
        requests = PollingWorker.start("predictor-" + settings.modelId(), stopping -> consume(consumer, stopping),
                consumer::wakeup, () -> consumer.close(CloseOptions.timeout(CLOSE_WAIT)), this::fail, CLOSE_WAIT.plusMillis(500));
        return this;
    }

    /** The model this service serves. */
    public String modelId() {
        return settings.modelId();
    }

    /** The subscriber serving the model (after {@link #start}). */
    public ModelSubscriber subscriber() {
        if (subscriber == null) {
            throw new IllegalStateException("the prediction service of model " + settings.modelId() + " is not started");
        }
        return subscriber;
    }

    /** The version served now; empty before the first verified snapshot (and before {@link #start}). */
    public Optional<ModelInfo> current() {
        ModelSubscriber s = subscriber;
        return s == null ? Optional.empty() : s.current();
    }

    /** The release state of the newest promotion applied (when following promotions). */
    public Optional<io.rehearsal.models.release.ReleaseState> release() {
        ModelSubscriber s = subscriber;
        return s == null ? Optional.empty() : s.release();
    }

    /**
     * True while a model is served (loaded, and warmed up by one prediction, so {@link #predict} answers at
     * once) and the service is neither failed nor closing.
     */
    public boolean ready() {
        ModelSubscriber s = subscriber;
        return s != null && s.ready() && failure == null && !closing;
    }

    /** Why the service stopped answering requests from Kafka or following snapshots, if it did (then restart it). */
    public Optional<RuntimeException> failure() {
        if (failure != null) {
            return Optional.of(failure);
        }
        ModelSubscriber s = subscriber;
        return s == null ? Optional.empty() : s.failure();
    }

    /**
     * Predicts samples of this model in one forward pass, all with the same version (for callers in this
     * process; HTTP answers go through {@link PredictionHttpApi}).
     *
     * @throws io.rehearsal.models.subscribe.NoModelException before the first verified snapshot
     * @throws IllegalArgumentException if a sample is for another model or does not fit
     */
    public List<ModelPrediction> predict(List<Sample> samples) {
        ModelSubscriber s = subscriber;
        if (s == null) {
            throw new NoModelException(settings.modelId()); // still starting: not loaded yet
        }
        return s.predictSamples(samples);
    }

    /**
     * Validates and writes feedback to the feedback topic, waiting for the broker.
     *
     * @throws RecordDecodeException if it is invalid
     * @throws KafkaException        if the broker did not acknowledge it in time
     */
    public RecordMetadata sendFeedback(Feedback f) {
        RecordMetadata md = feedback.send(f, settings.sendTimeout());
        metrics.feedback(f.getKind());
        LOG.info("model {}: {} feedback for sample {}{} by {} written to {}-{}@{}", settings.modelId(), f.getKind(),
                f.getSampleId(), f.getLabel() == null ? "" : " (label " + f.getLabel() + ")",
                f.getAnnotator() == null ? "an anonymous annotator" : f.getAnnotator(), md.topic(), md.partition(), md.offset());
        return md;
    }

    PredictorMetrics metrics() {
        return metrics;
    }

    /** The request loop: once a model is served, predict each poll's requests, then commit their offsets. */
    private void consume(Consumer<byte[], byte[]> consumer, PollingWorker.Stopping stopping) throws InterruptedException {
        while (!stopping.get() && subscriber.version() == 0) {
            subscriber.awaitVersion(1, settings.pollTimeout());
        }
        consumer.subscribe(List.of(topics.samples().name()));
        LOG.info("model {}: answering requests from {} as group {}", settings.modelId(), topics.samples().name(),
                settings.groupId());
        while (!stopping.get()) {
            ConsumerRecords<byte[], byte[]> records = consumer.poll(settings.pollTimeout());
            if (records.isEmpty()) {
                continue;
            }
            List<Future<RecordMetadata>> sent = handle(records);
            producer.flush();
            for (Future<RecordMetadata> f : sent) {
                try {
                    f.get(); // a failed send stops the service before its offset is committed
                } catch (ExecutionException e) {
                    throw new KafkaException("a prediction or dead letter could not be written: " + e.getCause().getMessage(),
                            e.getCause());
                }
            }
            consumer.commitSync();
        }
    }

    private void fail(RuntimeException e) {
        failure = e;
        LOG.error("model {}: the predictor stopped answering requests from {}: {}; /ready now fails, restart the "
                + "process (uncommitted requests are answered again)", settings.modelId(), topics.samples().name(), e.toString(), e);
    }

    private record Request(ConsumerRecord<byte[], byte[]> record, Sample sample) {
    }

    private List<Future<RecordMetadata>> handle(ConsumerRecords<byte[], byte[]> records) {
        List<Future<RecordMetadata>> sent = new ArrayList<>();
        List<Request> requests = new ArrayList<>();
        int inputSize = subscriber.inputSize().orElse(-1);
        for (ConsumerRecord<byte[], byte[]> r : records) {
            Sample s;
            try {
                s = topics.samples().deserializeValue(r.value());
            } catch (RecordDecodeException e) {
                sent.add(deadLetter(r, e.reason().name(), e.getMessage(), e));
                continue;
            }
            if (s == null) {
                metrics.skipped("tombstone");
            } else if (!settings.modelId().equals(s.getModelId())) {
                metrics.skipped("other_model");
            } else if (s.getLabel() != null) {
                metrics.skipped("labeled");
            } else if (FeatureTensor.elements(s.getFeatures()) != inputSize) {
                sent.add(deadLetter(r, RecordDecodeException.Reason.SHAPE_MISMATCH.name(), shapeMessage(s, inputSize), null));
            } else {
                requests.add(new Request(r, s));
            }
        }
        if (requests.isEmpty()) {
            return sent;
        }
        List<ModelPrediction> predictions;
        try {
            predictions = subscriber.predictSamples(requests.stream().map(Request::sample).toList());
        } catch (IllegalArgumentException e) {
            // a new version with another input size was swapped in since the check: one at a time
            for (Request q : requests) {
                try {
                    sent.add(send(q, subscriber.predict(q.sample())));
                } catch (IllegalArgumentException one) {
                    sent.add(deadLetter(q.record(), RecordDecodeException.Reason.SHAPE_MISMATCH.name(), one.getMessage(), one));
                }
            }
            return sent;
        }
        for (int i = 0; i < requests.size(); i++) {
            sent.add(send(requests.get(i), predictions.get(i)));
        }
        return sent;
    }

    private String shapeMessage(Sample s, int inputSize) {
        return String.format("sample %s has %d features (shape %s) but model %s version %d takes %d (shape %s); check "
                        + "the producer's shape", s.getId(), FeatureTensor.elements(s.getFeatures()), s.getFeatures().getShape(),
                settings.modelId(), subscriber.version(), inputSize,
                subscriber.current().map(i -> i.spec().inputShape().toString()).orElse("?"));
    }

    private Future<RecordMetadata> send(Request q, ModelPrediction p) {
        Instant now = Instant.now();
        Prediction prediction = p.toAvro(q.sample().getId(), settings.modelId(), q.sample().getEventTime(), now);
        metrics.predictedFromKafka(1);
        metrics.kafkaDelay(now.toEpochMilli() - q.record().timestamp());
        return producer.send(new ProducerRecord<>(topics.predictions().name(),
                topics.predictions().serializeKey(q.sample().getId()), topics.predictions().serializeValue(prediction)));
    }

    private Future<RecordMetadata> deadLetter(ConsumerRecord<byte[], byte[]> r, String reason, String message, Exception e) {
        LOG.warn("model {}: request at {}-{}@{} rejected ({}): {}", settings.modelId(), r.topic(), r.partition(), r.offset(),
                reason, message);
        metrics.rejected(reason);
        DeadLetter letter = DeadLetters.of(new DeadLetters.Origin(r.topic(), r.partition(), r.offset(), r.key(), r.value()),
                COMPONENT, reason, message, e == null ? null : e.getClass().getName(), Instant.now());
        return producer.send(new ProducerRecord<>(topics.deadLetters().name(), DeadLetters.recordKey(r.key()),
                topics.deadLetters().serializeValue(letter)));
    }

    /**
     * Stops consuming, closes the subscriber, waits for the request thread and closes the producer, each for a
     * second or two at most, so a process stopped with SIGTERM is gone within 5 s even when the broker does not
     * answer. Nothing is lost by not waiting longer: requests whose predictions were not acknowledged are not
     * committed, and the next instance answers them again (at least once).
     */
    @Override
    public void close() {
        closing = true;
        clientMeters.close();
        PollingWorker worker = requests;
        try {
            if (worker != null) {
                worker.stop();
            }
            if (subscriber != null) {
                subscriber.close(); // meanwhile the request thread stops too
            }
            if (worker != null) {
                worker.close();
            }
        } finally {
            producer.close(CLOSE_WAIT);
        }
    }
}
