package io.rehearsal.models.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.models.train.SyntheticStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NetworksTest {

    @Test
    void shouldBuildAnMlpWithLayerNormAndOneHead() {
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("m", ModelSpec.mlp(784, 10, 256, 128)).build())) {
            List<String> names = t.parameters().stream().map(p -> p.name() + java.util.Arrays.toString(p.shape())).toList();
            assertThat(names).containsExactly(
                    "02Linear_weight[256, 784]", "02Linear_bias[256]", "03LayerNorm_gamma[256]", "03LayerNorm_beta[256]",
                    "05Linear_weight[128, 256]", "05Linear_bias[128]", "06LayerNorm_gamma[128]", "06LayerNorm_beta[128]",
                    "08Linear_weight[10, 128]", "08Linear_bias[10]");
        }
    }

    @Test
    void shouldBuildTheCnnForFlat784InputsWithAnImageShape() {
        ModelSpec spec = new ModelSpec("cnn", List.of(784), 10, Map.of("image", "1x28x28", "channels", "8,16", "dense", "32"));
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("c", spec).build())) {
            float[][] p = t.probabilities(List.of(new float[784], new float[784]));
            assertThat(p).hasDimensions(2, 10);
            assertThat(t.parameters().stream().map(x -> x.name()).toList()).anyMatch(n -> n.contains("GroupNorm_gamma"));
            // and it trains a step on 2-view batches
            SyntheticStream stream = new SyntheticStream("c", 784, 10, 1);
            assertThat(t.train(stream.trainBatch(4, 2)).views()).isEqualTo(8);
        }
    }

    @Test
    void shouldExplainInvalidSpecs() {
        assertThatThrownBy(() -> new ModelSpec("resnet", List.of(784), 10, Map.of()))
                .hasMessage("unknown architecture 'resnet'; use mlp, cnn or torchscript");
        assertThatThrownBy(() -> new ModelSpec("torchscript", List.of(784), 10, Map.of()))
                .hasMessageContaining("needs the option sha256");
        assertThatThrownBy(() -> new ModelSpec("torchscript", List.of(784), 10, Map.of("sha256", "abc")))
                .hasMessageContaining("must be 64 lowercase hex digits");
        assertThatThrownBy(() -> new ModelSpec("mlp", List.of(784), 10, Map.of("sha256", "ab".repeat(32))))
                .hasMessageContaining("names a TorchScript module; the mlp network has none");
        assertThatThrownBy(() -> new ModelSpec("cnn", List.of(784), 10, Map.of()))
                .hasMessageContaining("give inputShape [C, H, W] or the option image=CxHxW");
        assertThatThrownBy(() -> ModelSpec.mlp(784, 10).withOption("image", "1x28x29"))
                .hasMessageContaining("has 812 elements but the input shape [784] has 784");
        assertThatThrownBy(() -> ModelSpec.mlp(784, 10).withOption("hidden", "256,x"))
                .hasMessageContaining("model option hidden=256,x must be positive integers");
    }
}
