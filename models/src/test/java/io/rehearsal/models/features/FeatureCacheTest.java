package io.rehearsal.models.features;

import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.SampleFeatures;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trainer's feature cache: versions, releases racing the batches that name them, the disk tier. */
class FeatureCacheTest {
    @TempDir
    Path dir;

    private static SampleFeatures features(String id, int partition, long offset, float value, int elements) {
        float[] x = new float[elements];
        java.util.Arrays.fill(x, value);
        return new SampleFeatures(id, "m", partition, offset, FeatureTensor.ofFloats(new int[] {elements}, x));
    }

    private static float first(Features f) {
        return f.getData().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0);
    }

    @Test
    void shouldReturnOnlyTheVersionABatchItemNames() {
        try (FeatureCache cache = new FeatureCache("m", 1 << 20, dir.resolve("c"))) {
            cache.add(features("a", 0, 5, 1f, 4));
            cache.add(features("a", 1, 9, 2f, 4)); // the same id sent again, another sample
            cache.add(new SampleFeatures("a", "other-model", 0, 7L, FeatureTensor.ofFloats(new int[] {1}, new float[] {3f})));

            assertThat(cache.get("a", 0, 5)).map(FeatureCacheTest::first).contains(1f);
            assertThat(cache.get("a", 1, 9)).map(FeatureCacheTest::first).contains(2f);
            assertThat(cache.get("a", 0, 7)).as("another model's sample is not kept").isEmpty();
            assertThat(cache.get("b", 0, 5)).isEmpty();
            assertThat(cache.memoryCount()).isEqualTo(2);
        }
    }

    @Test
    void shouldKeepReleasedFeaturesUntilTheBatchAfterWhichNoBatchNamesThem() {
        try (FeatureCache cache = new FeatureCache("m", 1 << 20, dir.resolve("c"))) {
            cache.add(features("a", 0, 1, 1f, 4));
            cache.add(features("b", 0, 2, 2f, 4));
            // Given a tombstone that overtook batches 7 and 8 of shard 0, which still name "a"
            cache.release("a", 0, 8);
            assertThat(cache.releasedPending()).isEqualTo(1);

            // batch 7 of shard 0, and batch 9 of another shard, leave it
            cache.trained(0, 7);
            cache.trained(1, 9);
            assertThat(cache.get("a", 0, 1)).isPresent();
            // batch 8 of shard 0 lets it go
            cache.trained(0, 8);
            assertThat(cache.get("a", 0, 1)).isEmpty();
            assertThat(cache.holds("a")).isFalse();
            assertThat(cache.releasedPending()).isZero();
            // a release after the trainer has read that batch drops at once
            cache.release("b", 0, 8);
            assertThat(cache.holds("b")).isFalse();
            assertThat(cache.memoryCount()).isZero();
            assertThat(cache.memoryBytes()).isZero();
        }
    }

    @Test
    void shouldKeepASampleSentAgainAfterItsPredecessorWasReleased() {
        try (FeatureCache cache = new FeatureCache("m", 1 << 20, dir.resolve("c"))) {
            cache.add(features("a", 0, 1, 1f, 4));
            cache.release("a", 0, 3);
            cache.add(features("a", 0, 40, 2f, 4)); // written after the tombstone: a new sample under the same id
            cache.trained(0, 3);

            assertThat(cache.get("a", 0, 1)).isEmpty();
            assertThat(cache.get("a", 0, 40)).map(FeatureCacheTest::first).contains(2f);
        }
    }

    @Test
    void shouldMoveTheOldestFeaturesToDiskPastItsMemoryAndReadThemBack() throws Exception {
        // Given room in memory for about three samples of 1,000 floats
        try (FeatureCache cache = new FeatureCache("m", 3 * 4_064, dir.resolve("c"))) {
            for (int i = 0; i < 10; i++) {
                cache.add(features("s" + i, 0, i, i, 1_000));
            }
            assertThat(cache.memoryCount()).isEqualTo(3);
            assertThat(cache.diskCount()).isEqualTo(7);
            assertThat(cache.memoryBytes()).isLessThanOrEqualTo(3 * 4_064);
            assertThat(Files.list(dir.resolve("c")).count()).isPositive();
            // every sample reads back with its own values, whichever tier holds it
            for (int i = 0; i < 10; i++) {
                Features f = cache.get("s" + i, 0, i).orElseThrow();
                ByteBuffer data = f.getData().duplicate().order(java.nio.ByteOrder.LITTLE_ENDIAN);
                assertThat(data.remaining()).isEqualTo(4_000);
                assertThat(data.getFloat(0)).isEqualTo(i);
                assertThat(data.getFloat(3_996)).isEqualTo(i);
            }
            // and a released one goes from disk too
            cache.release("s0", 0, 0);
            cache.trained(0, 0);
            assertThat(cache.get("s0", 0, 0)).isEmpty();
            assertThat(cache.diskCount()).isEqualTo(6);
        }
        assertThat(dir.resolve("c")).as("the disk tier is removed on close").doesNotExist();
    }
}
