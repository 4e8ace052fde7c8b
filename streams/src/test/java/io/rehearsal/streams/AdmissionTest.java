package io.rehearsal.streams;

import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.schemas.AvroSerde;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.DeadLetter;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.streams.metrics.CuratorMetrics;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/** What the curator lets in: known models only, and samples small enough to ever be batched. */
class AdmissionTest {

    @Test
    void shouldDeadLetterASampleForAModelItDoesNotTrainAndAddNoMetricSeriesForIt() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        try (InProcessCurator curator = new InProcessCurator(Given.settings(), Given.T0, new CuratorMetrics(registry), false)) {
            // Given a curator that trains model "m", and a sample for a typo of it between two good ones
            curator.sample(sample("s0", 1));
            curator.sample(sample("nosuch", "s1", 1));
            curator.sample(sample("s2", 1));

            // Then the typo is an UNKNOWN_MODEL dead letter naming the model and what the curator takes
            List<DeadLetter> letters = curator.deadLetters();
            assertThat(letters).extracting(DeadLetter::getReason).containsExactly("UNKNOWN_MODEL");
            assertThat(letters.get(0).getMessage()).contains("'nosuch'").contains("[m]").contains("--model-id");
            // and the good samples are trained
            assertThat(curator.batches()).flatExtracting(Given::ids).containsExactly("s0", "s2");
            // and no meter carries the unknown model id
            assertThat(registry.getMeters()).noneMatch(m -> "nosuch".equals(m.getId().getTag("model")));
            assertThat(registry.get("rehearsal.curator.dead.letters").tag("reason", "UNKNOWN_MODEL").counter().count())
                    .isEqualTo(1.0);
        }
    }

    @Test
    void shouldTakeAnyModelWhenToldButNoMoreThanMaxModels() {
        CuratorSettings anyTwo = Given.settings().optAcceptAnyModel(true).optModelIds().optMaxModels(2);
        try (InProcessCurator curator = new InProcessCurator(anyTwo)) {
            // Given samples for three model ids, two each
            for (String model : List.of("a", "b", "c")) {
                curator.sample(sample(model, model + "0", 1));
                curator.sample(sample(model, model + "1", 1));
            }
            // Then the first two models train and the third is refused, saying why
            assertThat(curator.batches()).extracting(TrainBatch::getModelId).containsExactly("a", "b");
            List<DeadLetter> letters = curator.deadLetters();
            assertThat(letters).extracting(DeadLetter::getReason).containsExactly("UNKNOWN_MODEL", "UNKNOWN_MODEL");
            assertThat(letters.get(0).getMessage()).contains("maxModels");
        }
    }

    @Test
    void shouldRefuseASampleWhoseFeaturesCouldNeverFitInABatch() {
        // Given a model of 8 Mi uint8 features: one item alone is over the batch topic's 8 MiB limit
        int elements = 8 << 20;
        CuratorSettings huge = Given.settings().optContract(ModelContract.flat(elements, 10));
        try (InProcessCurator curator = new InProcessCurator(huge)) {
            Sample big = sample("big", 1);
            big.setFeatures(FeatureTensor.ofBytes(new int[] {elements}, new byte[elements]));

            curator.sample(big);

            // Then it is refused at admission with the limit in the message, and nothing is batched
            List<DeadLetter> letters = curator.deadLetters();
            assertThat(letters).extracting(DeadLetter::getReason).containsExactly("SAMPLE_TOO_LARGE");
            assertThat(letters.get(0).getMessage()).contains("8,388,608").contains("max.message.bytes");
            assertThat(letters.get(0).getTruncated()).isTrue();
            assertThat(letters.get(0).getPayloadSize()).isGreaterThan(elements);
            assertThat(curator.batches()).isEmpty();
        }
    }

    @Test
    void shouldWriteLargeFeaturesOnceAndKeepBatchesSmall() {
        // Given 3 MB inputs: had batches carried features, a full batch of G = 4 groups would be 12 MB
        int elements = 3_000_000;
        CuratorSettings large = Given.settings().optContract(ModelContract.flat(elements, 10)).optLinger(Duration.ofSeconds(1));
        AvroSerde<TrainBatch> batchSerde = AvroSerde.of(TrainBatch.class);
        AvroSerde<SampleFeatures> featuresSerde = AvroSerde.of(SampleFeatures.class);
        try (InProcessCurator curator = new InProcessCurator(large)) {
            for (int i = 0; i < 12; i++) {
                Sample s = sample("s" + i, i % 3);
                s.setFeatures(FeatureTensor.ofBytes(new int[] {elements}, new byte[elements]));
                curator.sample(s);
            }
            curator.advance(Duration.ofSeconds(2));

            // Then each sample's features are written once, each record under the features topic's limit
            List<TestRecord<String, SampleFeatures>> features = curator.featureRecords();
            assertThat(features).extracting(TestRecord::key).hasSize(12).doesNotHaveDuplicates();
            assertThat(features).allSatisfy(r -> assertThat(featuresSerde.encode(r.value()).length)
                    .isBetween(elements, Topics.LARGE_MESSAGE_BYTES - SampleIntake.RECORD_MARGIN_BYTES));
            // and batches name their samples: full batches of a few hundred bytes, every sample trained fresh once
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).isNotEmpty().allSatisfy(b -> {
                assertThat(batchSerde.encode(b).length).isLessThan(4096);
                assertThat(b.getItems()).allSatisfy(item -> assertThat(item.getFeatures()).isNull());
            });
            assertThat(batches).anySatisfy(b -> assertThat(b.getItems()).hasSizeGreaterThan(2));
            assertThat(batches).flatExtracting(b -> Given.ids(b, ItemRole.FRESH)).hasSize(12).doesNotHaveDuplicates();
        }
    }
}
