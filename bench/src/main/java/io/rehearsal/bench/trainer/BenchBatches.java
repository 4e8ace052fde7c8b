package io.rehearsal.bench.trainer;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.ScheduleStats;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded synthetic 28x28 uint8 batches, Fashion-MNIST sized, for the benchmarks. */
final class BenchBatches {
    private BenchBatches() {
    }

    static List<TrainBatch> images(String modelId, int count, int groups, int views, ItemRole role, long seed) {
        return curated(modelId, count, groups, views, role == ItemRole.FRESH ? groups : 0, role, seed);
    }

    /** Batches as the curator composes them: the first {@code fresh} items FRESH, the others RECALL. */
    static List<TrainBatch> curated(String modelId, int count, int groups, int views, int fresh, long seed) {
        return curated(modelId, count, groups, views, fresh, ItemRole.RECALL, seed);
    }

    private static List<TrainBatch> curated(String modelId, int count, int groups, int views, int fresh, ItemRole rest,
                                            long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<TrainBatch> batches = new ArrayList<>(count);
        for (int b = 0; b < count; b++) {
            List<TrainItem> items = new ArrayList<>(groups);
            for (int g = 0; g < groups; g++) {
                int label = random.nextInt(10);
                byte[] pixels = new byte[784];
                for (int y = 4 + label % 3; y < 24; y++) {
                    for (int x = 6; x < 22 - label % 4; x++) {
                        pixels[y * 28 + x] = (byte) (80 + random.nextInt(176));
                    }
                }
                items.add(new TrainItem("s" + b + "-" + g, label, 0, FeatureTensor.ofBytes(new int[] {784}, pixels), views,
                        g, g < fresh ? ItemRole.FRESH : rest, 0, null, 0, (long) b * groups + g, Instant.EPOCH));
            }
            batches.add(new TrainBatch(modelId + "/0/" + b, modelId, 0, (long) b, BatchKind.TRAIN, views, items,
                    new ScheduleStats(groups, 0, 0, 0, 0.0, 0, 0, 10), (long) b * groups, null, Instant.EPOCH));
        }
        return batches;
    }
}
