package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.promote.PromotionPolicy;
import io.rehearsal.models.release.PromotionReader;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.CheckScope;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.TestRecords;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The forgetting guardrail end to end on a real broker: curator, trainer, promoter and a predictor that follows
 * promotions, as in production, in one JVM. A clean stream of two tasks is learned and promoted; then a burst of
 * wrong labels (every class-1 sample of it labeled 0, as a broken producer would) trains candidates that forget
 * class 1: the promoter refuses them, naming class 1 and by how much, and the predictor keeps serving a version
 * within the policy's margin while a subscriber of the latest candidate serves the damage. Once people correct
 * the burst through feedback, candidates recover and promotion resumes.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 600, unit = TimeUnit.SECONDS)
class PromotionIT {
    private static final Logger LOG = LoggerFactory.getLogger(PromotionIT.class);
    private static final String MODEL = "guarded";
    private static final String KEY = "promotion-it-signing-key-0123456789";
    private static final Duration WAIT = Duration.ofMinutes(3);

    static CuratorSettings curatorSettings() {
        // 8 fresh samples a step (B = 32 views, R = 2, half of the groups fresh); the eval set (25 per class)
        // goes to the trainer and the promoter every 5 steps; the short-term store keeps the whole burst, so
        // that feedback finds every sample of it
        return CuratorSettings.defaults().optBatchSize(32).optViews(2).optFreshShare(0.5)
                .optLongTermCapacity(200).optShortTermCapacity(5000).optShortTermRecalls(2)
                .optIntervals(2, 16, 1).optIntervalGrowth(2).optFillRecalls(true)
                .optLinger(Duration.ofMillis(100)).optIdleReplay(Duration.ofMillis(250))
                .optEvalCapacityPerClass(25).optEvalEverySteps(5)
                .optContract(ModelContract.flat(TwoTaskProblem.DIMS, TwoTaskProblem.CLASSES))
                .optModelIds(MODEL).optSeed(11);
    }

    static TrainerSettings trainerSettings() {
        return TrainerSettings.builder(MODEL, ModelSpec.mlp(TwoTaskProblem.DIMS, TwoTaskProblem.CLASSES, 32))
                .optAugment(AugmentSettings.none()).optSeed(11)
                .optSnapshotEvery(10, Duration.ofMillis(500))
                .optSigningKey(KEY)
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-")
                .optGroupIdPrefix("g-" + UUID.randomUUID() + "-")
                .optPollTimeout(Duration.ofMillis(100))
                .build();
    }

    static PromoterSettings promoterSettings() {
        return PromoterSettings.builder(MODEL).optPolicy(PromotionPolicy.defaults().optMinSamples(10)).optSigningKey(KEY)
                .optTransactionalIdPrefix("promoter-" + UUID.randomUUID() + "-").optPollTimeout(Duration.ofMillis(100))
                .build();
    }

    @Test
    void shouldRefuseCandidatesThatForgetAPoisonedClassAndResumeOnceFeedbackCorrectsIt(KafkaCluster kafka,
                                                                                       @TempDir Path state) throws Exception {
        Topics topics = kafka.newTopics();
        Map<String, Object> curatorProps = new HashMap<>(kafka.clientProperties());
        curatorProps.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        SimpleMeterRegistry promoterMetrics = new SimpleMeterRegistry();
        TwoTaskProblem problem = new TwoTaskProblem(MODEL, 11);
        PredictorSettings predictorSettings = PredictorSettings.builder(SubscriberSettings.builder(MODEL).optVerifyKey(KEY)
                .optPollTimeout(Duration.ofMillis(100)).optStartTimeout(Duration.ofMillis(200)).build()).build();

        try (CuratorApp curator = new CuratorApp(curatorSettings(), topics, curatorProps, new SimpleMeterRegistry());
             TrainerApp trainer = new TrainerApp(trainerSettings(), topics, kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             Promoter promoter = Promoter.start(promoterSettings(), topics, kafka.bootstrapServers(), Map.of(), promoterMetrics);
             PredictionService predictor = new PredictionService(predictorSettings, topics, kafka.bootstrapServers(), Map.of(),
                     new SimpleMeterRegistry());
             ModelSubscriber latest = ModelSubscriber.start(SubscriberSettings.builder(MODEL).optVerifyKey(KEY)
                             .optFollow(Follow.LATEST).optStartTimeout(Duration.ofMillis(200)).build(), topics,
                     kafka.bootstrapServers(), Map.of(), new SimpleMeterRegistry());
             PromotionReader promotions = PromotionReader.create(topics, kafka.bootstrapServers(), Map.of(), Duration.ofSeconds(30),
                     Optional.of(KEY))) {
            curator.start();
            assertThat(curator.awaitRunning(WAIT)).as("curator running").isTrue();
            CompletableFuture<Void> training = CompletableFuture.runAsync(trainer::run);
            predictor.start();

            // Given held-out samples of both tasks and a clean stream, learned and promoted
            TestRecords.produce(kafka, topics.samples(), problem.heldOut("eval", 25));
            TestRecords.produce(kafka, topics.samples(), problem.clean("clean", 600));
            await("a good version promoted and served").atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() ->
                    promotions.history(MODEL).latest().filter(p -> p.getPromotedVersion() > 0 && lastPromoted(promotions)
                            .map(g -> accuracy(g, "1") >= 0.9 && g.getEvaluation().getAccuracy() >= 0.9).orElse(false)).isPresent()
                            && predictor.current().isPresent());
            Promotion good = lastPromoted(promotions).orElseThrow();
            long goodVersion = good.getCandidateVersion();
            long beforeBurst = promotions.history(MODEL).latest().orElseThrow().getSequence();
            LOG.info("promoted before the burst: version {} ({})", goodVersion, good.getReason());

            // When a burst of wrong labels arrives: every class-1 sample of it labeled 0
            Map<String, Sample> burst = new LinkedHashMap<>();
            List<String> flipped = new ArrayList<>();
            for (Map.Entry<String, Sample> e : problem.clean("burst", 1200).entrySet()) {
                Sample s = e.getValue();
                if (s.getLabel() == 1) {
                    s.setLabel(0);
                    flipped.add(e.getKey());
                }
                burst.put(e.getKey(), s);
            }
            TestRecords.produce(kafka, topics.samples(), burst);

            // Then candidates are refused, naming class 1 and by how much
            await("a candidate refused for class 1").atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() ->
                    refusedForClass1(promotions, beforeBurst).isPresent());
            Promotion refused = refusedForClass1(promotions, beforeBurst).orElseThrow();
            LOG.info("refused: {}", refused.getReason());
            assertThat(refused.getReason()).contains("class 1 ").contains("points below version");
            assertThat(refused.getEvaluation().getByClass().get("1").getAccuracy())
                    .isLessThan(refused.getBestClassAccuracy().get("1") - 0.2);
            // and no version that forgot class 1 was promoted since the burst began: half the class-1 labels flipped
            // make the candidates swing, and a candidate caught on the upswing may pass, but none more than the
            // policy's 20 points below the class's best
            for (Promotion p : promotions.history(MODEL).promotions()) {
                if (p.getSequence() > beforeBurst && p.getAction() == PromotionAction.PROMOTED) {
                    assertThat(accuracy(p, "1")).as("class 1 of promoted version %d", p.getCandidateVersion())
                            .isGreaterThanOrEqualTo(good.getEvaluation().getByClass().get("1").getAccuracy() - 0.2 - 1e-9);
                }
            }
            // and services keep serving a promoted version (promotions go on for candidates caught on an upswing, so
            // the promoted version is read again at each poll), which still tells class 1 from 0, while the latest
            // candidate does not
            await("the predictor serves the promoted version").atMost(WAIT).pollInterval(Duration.ofMillis(200))
                    .until(() -> predictor.current().orElseThrow().version()
                            == promotions.history(MODEL).latest().orElseThrow().getPromotedVersion());
            assertThat(latest.version()).isGreaterThanOrEqualTo(predictor.current().orElseThrow().version());
            float[][] ones = new float[200][];
            for (int i = 0; i < ones.length; i++) {
                ones[i] = problem.features(1);
            }
            assertThat(classOneRight(predictor.subscriber(), ones)).as("class 1 right by the served version").isGreaterThan(0.7);
            await("the latest candidate forgets class 1").atMost(WAIT).until(() -> classOneRight(latest, ones) < 0.5);
            assertThat(promoterMetrics.get("rehearsal.promoter.checks.failed").tag("scope", CheckScope.CLASS.name())
                    .counter().count()).isPositive();

            // When people correct the burst through feedback and clean samples go on
            long refusedVersion = promotions.history(MODEL).promotions().stream().filter(p -> p.getAction() == PromotionAction.REFUSED)
                    .mapToLong(Promotion::getCandidateVersion).max().orElseThrow();
            Map<String, Feedback> corrections = new LinkedHashMap<>();
            for (String id : flipped) {
                corrections.put(id, Feedback.newBuilder().setSampleId(id).setModelId(MODEL).setKind(FeedbackKind.LABEL)
                        .setLabel(1).setAnnotator("it").setEventTime(Instant.now()).build());
            }
            TestRecords.produce(kafka, topics.feedback(), corrections);
            TestRecords.produce(kafka, topics.samples(), problem.clean("after", 800));

            // Then promotion resumes with a candidate newer than those refused that knows class 1 again, and the
            // predictor serves it
            await("promotion resumed").atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() ->
                    lastPromoted(promotions).filter(p -> p.getCandidateVersion() > refusedVersion && accuracy(p, "1") >= 0.95)
                            .isPresent());
            Promotion resumed = lastPromoted(promotions).orElseThrow();
            LOG.info("promoted after the corrections: version {} ({})", resumed.getCandidateVersion(), resumed.getReason());
            await("the predictor serves it").atMost(WAIT)
                    .until(() -> predictor.current().orElseThrow().version() >= resumed.getCandidateVersion());
            assertThat(classOneRight(predictor.subscriber(), ones)).isGreaterThan(0.9);

            trainer.stop();
            training.get(60, TimeUnit.SECONDS);
        }
    }

    private static Optional<Promotion> lastPromoted(PromotionReader promotions) {
        return promotions.history(MODEL).promotions().stream().filter(p -> p.getAction() == PromotionAction.PROMOTED)
                .reduce((a, b) -> b);
    }

    private static Optional<Promotion> refusedForClass1(PromotionReader promotions, long after) {
        return promotions.history(MODEL).promotions().stream()
                .filter(p -> p.getSequence() > after && p.getAction() == PromotionAction.REFUSED)
                .filter(p -> p.getChecks().stream().anyMatch(c -> !c.getPassed() && c.getScope() == CheckScope.CLASS
                        && c.getKey().equals("1")))
                .findFirst();
    }

    private static double accuracy(Promotion p, String cls) {
        return p.getEvaluation().getByClass().get(cls).getAccuracy();
    }

    private static double classOneRight(ModelSubscriber model, float[][] inputs) {
        int right = 0;
        for (var p : model.predict(List.of(inputs))) {
            right += p.label() == 1 ? 1 : 0;
        }
        return (double) right / inputs.length;
    }
}
