package io.rehearsal.models.predict;

import io.micrometer.core.instrument.MeterRegistry;
import io.rehearsal.models.metrics.KafkaClientMeters;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.NoModelException;
import io.rehearsal.schemas.DeadLetters;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.Prediction;
import io.rehearsal.schemas.avro.Sample;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
    private volatile Consumer<byte[], byte[]> consumer;
    private volatile Thread thread;
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
        this.producer = producer != null ? producer
                : new KafkaProducer<>(producerConfig(), new ByteArraySerializer(), new ByteArraySerializer());
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

    Map<String, Object> producerConfig() {
        Map<String, Object> config = new HashMap<>(kafkaProperties);
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-producer");
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // the largest record the topics it writes accept, no more, no less
        config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Topics.maxRequestSize(topics.predictions(), topics.feedback(),
                topics.deadLetters()));
        return config;
    }

    private Map<String, Object> consumerConfig() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, settings.groupId() + "-requests");
        // a new group answers the requests already waiting on the topic
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, settings.maxPollRecords());
        config.putAll(kafkaProperties);
        // not negotiable: the group shares the work, and offsets move only after predictions are acknowledged
        config.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return config;
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
        consumer = new KafkaConsumer<>(consumerConfig(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        clientMeters.bind(consumer);
        Thread t = new Thread(this::consume, "predictor-" + settings.modelId());
        t.setDaemon(true);
        thread = t;
        t.start();
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

    private void consume() {
        try {
            while (!closing && subscriber.version() == 0) {
                subscriber.awaitVersion(1, settings.pollTimeout());
            }
            consumer.subscribe(List.of(topics.samples().name()));
            LOG.info("model {}: answering requests from {} as group {}", settings.modelId(), topics.samples().name(),
                    settings.groupId());
            while (!closing) {
                ConsumerRecords<byte[], byte[]> records = consumer.poll(settings.pollTimeout());
                if (records.isEmpty()) {
                    continue;
                }
                List<Future<RecordMetadata>> sent = handle(records);
                producer.flush();
                for (Future<RecordMetadata> f : sent) {
                    f.get(); // a failed send stops the service before its offset is committed
                }
                consumer.commitSync();
            }
        } catch (WakeupException e) {
            if (!closing) {
                fail(e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            fail(new KafkaException("a prediction or dead letter could not be written: " + e.getCause().getMessage(), e.getCause()));
        } catch (RuntimeException e) {
            if (!closing) {
                fail(e); // while closing, the subscriber may be gone under a last poll's predictions: not a failure
            }
        } finally {
            consumer.close(CloseOptions.timeout(CLOSE_WAIT)); // leaves the group, so its partitions move at once
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
        Consumer<byte[], byte[]> c = consumer;
        Thread t = thread;
        if (c != null) {
            c.wakeup();
        }
        try {
            if (subscriber != null) {
                subscriber.close(); // meanwhile the request thread stops too
            }
            if (t != null) {
                t.join(CLOSE_WAIT.toMillis() + 500);
                if (t.isAlive()) {
                    LOG.warn("model {}: the request thread did not stop within {} ms; closing without it", settings.modelId(),
                            CLOSE_WAIT.toMillis() + 500);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            producer.close(CLOSE_WAIT);
        }
    }
}
