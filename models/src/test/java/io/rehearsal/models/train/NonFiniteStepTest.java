package io.rehearsal.models.train;

import static io.rehearsal.models.runtime.TensorAssertions.assertBitIdentical;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.runtime.NamedTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A step whose loss or gradients are not finite is skipped, leaves the model as it was, and training goes on. */
class NonFiniteStepTest {
    private static final int DIMS = 20;
    private static final int CLASSES = 4;
    private static final int HIDDEN = 32;

    /** The demo's optimizer (SGD, momentum 0.9), so that a skipped step must leave the momentum alone too. */
    private static TrainerSettings settings(String modelId) {
        return TrainerSettings.builder(modelId, ModelSpec.mlp(DIMS, CLASSES, HIDDEN))
                .optOptimizer(OptimizerKind.SGD, 0.05f)
                .optMomentum(0.9f)
                .optLambda(1f, 2, 2)
                .optSeed(7)
                .build();
    }

    /** A batch like the stream's, but one item's features are finite and huge: the first layer overflows. */
    static TrainBatch poisoned(SyntheticStream stream, int groups, int views) {
        float[] huge = new float[DIMS];
        Arrays.fill(huge, 3e38f);
        List<TrainItem> items = new ArrayList<>();
        for (int g = 0; g < groups; g++) {
            int label = stream.randomLabel();
            items.add(SyntheticStream.item("poisoned-" + g, label, g == 0 ? huge : stream.sample(label), views, g,
                    ItemRole.FRESH, null));
        }
        return stream.batch(BatchKind.TRAIN, views, items, null);
    }

    @Test
    void shouldSkipAStepWhoseLossIsNotFiniteAndLeaveWeightsMomentumAndStepAsTheyWere() {
        SyntheticStream stream = new SyntheticStream("poison", DIMS, CLASSES, 1);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("poison"))) {
            // Given a trainer three steps in, with momentum
            for (int i = 0; i < 3; i++) {
                trainer.train(stream.trainBatch(8, 2));
            }
            List<NamedTensor> weights = trainer.parameters();
            List<NamedTensor> momentum = trainer.optimizerState();
            assertThat(momentum).isNotEmpty();

            // When a batch with features of 3e38 comes in
            NonFiniteStepException e = catchThrowableOfType(NonFiniteStepException.class,
                    () -> trainer.train(poisoned(stream, 8, 2)));

            // Then the step is refused before its backward pass, saying what it saw
            assertThat(e).isInstanceOf(InvalidBatchException.class);
            assertThat(e.reason()).isEqualTo("NON_FINITE_LOSS");
            StepStatistics s = e.statistics();
            assertThat(s.step()).isEqualTo(4);
            assertThat(s.crossEntropy()).isNaN();
            assertThat(s.maxAbsInput()).isEqualTo(3e38f);
            assertThat(s.weightsFinite()).isTrue();
            assertThat(s.gradientNorm()).isNegative();
            assertThat(s.items()).isEqualTo(8);
            assertThat(s.views()).isEqualTo(16);
            assertThat(s.labels().values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(16);
            assertThat(e.getMessage()).contains("step 4 of model poison not applied: the loss is not finite on batch poison/0/3")
                    .contains("max |input| 3.000e+38").contains("weights finite").contains("gradient norm not computed");
            // and the weights, the momentum and the step count are exactly as before
            assertBitIdentical(trainer.parameters(), weights);
            assertBitIdentical(trainer.optimizerState(), momentum);
            assertThat(trainer.step()).isEqualTo(3);
            assertThat(trainer.samplesSeen()).isEqualTo(3 * 16);
        }
    }

    @Test
    void shouldTrainOnAfterASkippedStepExactlyAsIfTheBatchHadNeverCome() {
        // Given the same batches, once with a poisoned batch in the middle and once without
        SyntheticStream stream = new SyntheticStream("replay", DIMS, CLASSES, 2);
        List<TrainBatch> good = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            good.add(stream.trainBatch(8, 2));
        }
        TrainBatch bad = poisoned(stream, 8, 2);
        try (ContinualTrainer skipping = new ContinualTrainer(settings("replay"));
             ContinualTrainer clean = new ContinualTrainer(settings("replay"))) {
            // When one trains all of them, going on after the skipped step, and the other only the good ones
            int skipped = 0;
            for (int i = 0; i < good.size(); i++) {
                if (i == 3) {
                    try {
                        skipping.train(bad);
                    } catch (NonFiniteStepException e) {
                        skipped++;
                    }
                }
                skipping.train(good.get(i));
                clean.train(good.get(i));
            }
            // Then the skipped step changed nothing: same steps, bit-identical weights and momentum (same seeds per
            // step, so a trainer that resumes and skips the batch again ends where one that never stopped does)
            assertThat(skipped).isEqualTo(1);
            assertThat(skipping.step()).isEqualTo(clean.step()).isEqualTo(6);
            assertBitIdentical(skipping.parameters(), clean.parameters());
            assertBitIdentical(skipping.optimizerState(), clean.optimizerState());
        }
    }

    @Test
    void shouldSkipAStepWhoseLossIsFiniteButWhoseGradientsAreNotAndClearThem() {
        SyntheticStream stream = new SyntheticStream("overflow", DIMS, CLASSES, 3);
        TrainBatch batch = stream.trainBatch(8, 2);
        TrainBatch next = stream.trainBatch(8, 2);
        try (ContinualTrainer trainer = new ContinualTrainer(settings("overflow"));
             ContinualTrainer reference = new ContinualTrainer(settings("overflow"))) {
            // Given finite weights whose gradients overflow float32 on any batch: the hidden layer's output is a
            // constant 1e-30 (LayerNorm gain 0, bias 1e-30), so the logits stay finite (about +-1e10), but the
            // output weights are +-3e38 and the gradient that flows back through them does not fit a float
            List<NamedTensor> initial = trainer.parameters();
            List<NamedTensor> overflowing = new ArrayList<>();
            for (NamedTensor t : initial) {
                float[] data = t.data().clone();
                if (t.name().endsWith("LayerNorm_gamma")) {
                    Arrays.fill(data, 0f);
                } else if (t.name().endsWith("LayerNorm_beta")) {
                    Arrays.fill(data, 1e-30f);
                } else if (t.name().equals(last(initial, "_weight"))) {
                    for (int k = 0; k < CLASSES; k++) {
                        Arrays.fill(data, k * HIDDEN, (k + 1) * HIDDEN, k % 2 == 0 ? 3e38f : -3e38f);
                    }
                }
                overflowing.add(new NamedTensor(t.name(), t.shape(), data));
            }
            trainer.loadParameters(overflowing);

            // When it trains a batch
            NonFiniteStepException e = catchThrowableOfType(NonFiniteStepException.class, () -> trainer.train(batch));

            // Then the step is refused after the backward pass, before the update: finite loss, gradients not
            assertThat(e.reason()).isEqualTo("NON_FINITE_GRADIENT");
            assertThat(e.statistics().crossEntropy()).isFinite();
            assertThat(e.statistics().gradientNorm()).isNotFinite();
            assertThat(e.statistics().weightsFinite()).isTrue();
            assertThat(e.getMessage()).contains("the gradients are not finite");
            assertBitIdentical(trainer.parameters(), overflowing);
            assertThat(trainer.optimizerState()).isEmpty();
            assertThat(trainer.step()).isZero();

            // and its gradients were cleared: with sane weights again, the next step is exactly a fresh trainer's
            trainer.loadParameters(initial);
            trainer.train(next);
            reference.train(next);
            assertBitIdentical(trainer.parameters(), reference.parameters());
            assertBitIdentical(trainer.optimizerState(), reference.optimizerState());
        }
    }

    /** The name of the last parameter whose name ends with {@code suffix} (the output layer's). */
    private static String last(List<NamedTensor> tensors, String suffix) {
        String name = null;
        for (NamedTensor t : tensors) {
            name = t.name().endsWith(suffix) ? t.name() : name;
        }
        return name;
    }

}
