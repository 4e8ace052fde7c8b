package io.rehearsal.models.train;

import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.Features;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The items of a batch checked against the model and laid out for the device: features as one
 * row-major float block (a heap array, or written straight into the trainer's reusable direct buffer),
 * labels, which items are fresh, and for every non-anchor view the item it is built from (item i
 * contributes {@code views - 1} of them, in item order).
 */
final class ItemRows {
    final int count;
    final float[] features;
    final long[] labels;
    final int[] fresh;
    final long[] viewItem;

    private ItemRows(int count, float[] features, long[] labels, int[] fresh, long[] viewItem) {
        this.count = count;
        this.features = features;
        this.labels = labels;
        this.fresh = fresh;
        this.viewItem = viewItem;
    }

    /**
     * @param source what to name in messages, e.g. the batch id
     * @throws InvalidBatchException if an item does not fit the model
     */
    static ItemRows of(List<TrainItem> items, ModelSpec spec, String modelId, String source) {
        float[] x = new float[items.size() * spec.inputSize()];
        ItemRows rows = of(items, spec, modelId, source, FloatBuffer.wrap(x));
        return new ItemRows(rows.count, x, rows.labels, rows.fresh, rows.viewItem);
    }

    /**
     * Like {@link #of(List, ModelSpec, String, String)}, but writes the features into {@code dest} (from its
     * position, {@code items.size() * inputSize} floats) instead of a new array; {@link #features} is then null.
     */
    static ItemRows of(List<TrainItem> items, ModelSpec spec, String modelId, String source, FloatBuffer dest) {
        int n = items.size();
        long[] labels = new long[n];
        List<Integer> fresh = new ArrayList<>();
        List<Long> viewItem = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TrainItem item = items.get(i);
            FeatureTensor.copyFloats(checked(item, spec, modelId, source), dest);
            labels[i] = label(item, spec, modelId, source);
            views(item, source);
            if (item.getRole() == ItemRole.FRESH) {
                fresh.add(i);
            }
            for (int v = 1; v < item.getViews(); v++) {
                viewItem.add((long) i);
            }
        }
        return new ItemRows(n, null, labels, fresh.stream().mapToInt(Integer::intValue).toArray(),
                viewItem.stream().mapToLong(Long::longValue).toArray());
    }

    /** Labels of all rows: the anchors, then the other views. */
    long[] rowLabels() {
        long[] all = Arrays.copyOf(labels, count + viewItem.length);
        for (int j = 0; j < viewItem.length; j++) {
            all[count + j] = labels[(int) viewItem[j]];
        }
        return all;
    }

    /**
     * Weights of the rows ({@link #rowLabels()}) that give every class present the same share of the
     * loss: a row of class c weighs {@code 1 / (classes present * rows of class c)}; they sum to 1.
     */
    static float[] classBalancedWeights(long[] rowLabels) {
        java.util.Map<Long, Integer> counts = new java.util.HashMap<>();
        for (long y : rowLabels) {
            counts.merge(y, 1, Integer::sum);
        }
        float[] w = new float[rowLabels.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (1.0 / (counts.size() * (double) counts.get(rowLabels[i])));
        }
        return w;
    }

    /**
     * Checks {@code items} as {@link #of} does (features, shape, label, views) without copying anything: items
     * the trainer packs with those of other batches are checked against their own batch first.
     *
     * @throws InvalidBatchException naming the first item that cannot be trained
     */
    static void validate(List<TrainItem> items, ModelSpec spec, String modelId, String source) {
        for (TrainItem item : items) {
            checked(item, spec, modelId, source);
            label(item, spec, modelId, source);
            views(item, source);
        }
    }

    private static void views(TrainItem item, String source) {
        if (item.getViews() < 1) {
            throw new InvalidBatchException("INVALID_VALUE", source + ": item " + item.getSampleId() + " asks for "
                    + item.getViews() + " views; every item needs at least 1");
        }
    }

    private static int label(TrainItem item, ModelSpec spec, String modelId, String source) {
        int label = item.getLabel();
        if (label < 0 || label >= spec.numClasses()) {
            throw new InvalidBatchException("UNKNOWN_LABEL", String.format("%s: item %s has label %d, outside the %d "
                            + "classes of model %s; configure numClasses for every class the stream can carry",
                    source, item.getSampleId(), label, spec.numClasses(), modelId));
        }
        return label;
    }

    private static Features checked(TrainItem item, ModelSpec spec, String modelId, String source) {
        Features f = item.getFeatures();
        try {
            FeatureTensor.validate(f, item.getSampleId());
        } catch (RecordDecodeException e) {
            throw new InvalidBatchException(e.reason().name(), source + ": " + e.getMessage(), e);
        }
        long elements = FeatureTensor.elements(f);
        if (elements != spec.inputSize()) {
            throw new InvalidBatchException("SHAPE_MISMATCH", String.format("%s: item %s has %d features %s but "
                            + "model %s takes %d %s; check the producer's shape", source, item.getSampleId(), elements,
                    f.getShape(), modelId, spec.inputSize(), spec.inputShape()));
        }
        return f;
    }
}
