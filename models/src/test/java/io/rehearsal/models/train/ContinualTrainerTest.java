package io.rehearsal.models.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ContinualTrainerTest {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;

    private static TrainerSettings.Builder settings(String modelId) {
        return TrainerSettings.builder(modelId, ModelSpec.mlp(DIMS, CLASSES, 32))
                .optOptimizer(OptimizerKind.SGD, 0.05f)
                .optLambda(1f, 10, 10)
                .optSeed(7);
    }

    @Test
    void shouldLearnASeparableProblemToAbove95Percent() {
        // Given a stream of four Gaussian blobs, 2 views per item
        SyntheticStream stream = new SyntheticStream("blobs", DIMS, CLASSES, 1);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("blobs").build())) {
            // When it trains 150 steps of 16 items x 2 views
            StepResult last = null;
            for (int i = 0; i < 150; i++) {
                last = trainer.train(stream.trainBatch(16, 2));
            }
            // Then held-out samples are classified above 95%
            List<float[]> xs = new ArrayList<>();
            List<Integer> ys = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                int y = stream.randomLabel();
                ys.add(y);
                xs.add(stream.sample(y));
            }
            trainer.evaluate(stream.evalBatch(xs, ys, 1));
            assertThat(trainer.evals().accuracy()).isGreaterThan(0.95);
            assertThat(trainer.evals().byClass()).hasSize(CLASSES);
            assertThat(trainer.evals().byTask()).containsOnlyKeys("task-0", "task-1");
            assertThat(last.step()).isEqualTo(150);
            assertThat(last.views()).isEqualTo(32);
            assertThat(last.freshItems()).isEqualTo(16);
            assertThat(last.lambda()).isEqualTo(1f);
            assertThat(trainer.samplesSeen()).isEqualTo(150 * 32);
            int[] predicted = trainer.predict(xs.subList(0, 50));
            long right = java.util.stream.IntStream.range(0, 50).filter(i -> predicted[i] == ys.get(i)).count();
            assertThat(right).isGreaterThan(45);
        }
    }

    @Test
    void shouldGiveIdenticalWeightsForTheSameBatchesAndSeed() {
        // Given the same ten batches
        List<TrainBatch> batches = new ArrayList<>();
        SyntheticStream stream = new SyntheticStream("det", DIMS, CLASSES, 3);
        for (int i = 0; i < 30; i++) {
            batches.add(stream.trainBatch(8, 4));
        }
        // When two trainers with the same seed train on them (augmentations are random)
        List<NamedTensor> first = trainAll(settings("det").build(), batches);
        List<NamedTensor> second = trainAll(settings("det").build(), batches);
        List<NamedTensor> otherSeed = trainAll(settings("det").optSeed(8).build(), batches);
        // Then their weights are bit-identical, and another seed gives other weights
        assertThat(second).hasSameSizeAs(first);
        for (int i = 0; i < first.size(); i++) {
            assertThat(second.get(i).name()).isEqualTo(first.get(i).name());
            assertThat(second.get(i).data()).containsExactly(first.get(i).data());
        }
        assertThat(otherSeed.get(0).data()).isNotEqualTo(first.get(0).data());
    }

    private static List<NamedTensor> trainAll(TrainerSettings s, List<TrainBatch> batches) {
        try (ContinualTrainer trainer = new ContinualTrainer(s)) {
            batches.forEach(trainer::train);
            return trainer.parameters();
        }
    }

    @Test
    void shouldHaveZeroConsistencyWhenViewsAreIdentical() {
        // Given no augmentation: every view equals its anchor
        SyntheticStream stream = new SyntheticStream("kl", DIMS, CLASSES, 4);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("kl").optAugment(AugmentSettings.none())
                .optLambda(1f, 0, 0).build())) {
            // When it trains on 4-view batches
            for (int i = 0; i < 5; i++) {
                StepResult r = trainer.train(stream.trainBatch(8, 4));
                // Then the KL term is zero (up to float rounding) while cross-entropy is not
                assertThat(r.consistency()).isLessThan(1e-6);
                assertThat(r.crossEntropy()).isGreaterThan(0.0);
            }
        }
        // And with augmentation the views disagree a little
        try (ContinualTrainer trainer = new ContinualTrainer(settings("kl").optAugment(
                new AugmentSettings(0, 0, 0.5f, 0f, 0f, 0.3f)).optLambda(1f, 0, 0).build())) {
            assertThat(trainer.train(stream.trainBatch(8, 4)).consistency()).isGreaterThan(1e-6);
        }
    }

    @Test
    void shouldPredictFreshItemsBeforeTrainingOnThem() {
        SyntheticStream stream = new SyntheticStream("preq", DIMS, CLASSES, 5);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("preq").build())) {
            int correctLate = 0;
            int totalLate = 0;
            for (int i = 0; i < 120; i++) {
                StepResult r = trainer.train(stream.trainBatch(16, 1));
                if (i >= 100) {
                    correctLate += r.freshCorrect();
                    totalLate += r.freshItems();
                }
            }
            // the stream keeps bringing unseen samples: late prequential accuracy is high
            assertThat(correctLate / (double) totalLate).isGreaterThan(0.9);
        }
    }

    @Test
    void shouldRefuseABatchWithAForeignLabelAndStayUnchanged() {
        SyntheticStream stream = new SyntheticStream("bad", DIMS, CLASSES, 6);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("bad").build())) {
            trainer.train(stream.trainBatch(4, 2));
            List<NamedTensor> before = trainer.parameters();
            TrainBatch bad = stream.batch(io.rehearsal.schemas.avro.BatchKind.TRAIN, 1, List.of(
                    SyntheticStream.item("x", 9, stream.sample(0), 1, 0, ItemRole.FRESH, null)), null);
            assertThatThrownBy(() -> trainer.train(bad))
                    .isInstanceOf(InvalidBatchException.class)
                    .hasMessageContaining("label 9, outside the 4 classes of model bad");
            TrainBatch shortRow = stream.batch(io.rehearsal.schemas.avro.BatchKind.TRAIN, 1, List.of(
                    SyntheticStream.item("y", 1, new float[DIMS - 1], 1, 0, ItemRole.FRESH, null)), null);
            assertThatThrownBy(() -> trainer.train(shortRow))
                    .isInstanceOf(InvalidBatchException.class)
                    .hasMessageContaining("has 19 features [19] but model bad takes 20 [20]; check the producer's shape");
            assertThat(trainer.step()).isEqualTo(1);
            assertThat(trainer.parameters().get(0).data()).containsExactly(before.get(0).data());
        }
    }
}
