package io.rehearsal.models.promote;

import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The held-out samples a promoter evaluates candidates on: every EVAL item the curator put on the
 * train-batches topic below some offset, the latest label of each sample id. The curator streams its eval set
 * in rounds (every {@code evalEverySteps} TRAIN batches), so this is the union of the rounds read: samples the
 * curator's reservoir replaced stay (they are held out all the same) until {@code capacity} is reached, then
 * the sample seen longest ago goes. Deterministic: the same batches in the same order give the same set.
 */
final class HeldOutSet {
    /** One held-out sample: its features, its label and task. */
    record Item(String sampleId, float[] features, int label, String task) {
    }

    private final int capacity;
    private final LinkedHashMap<String, Item> items;
    private long offset;

    /** @param capacity the most held-out samples kept */
    HeldOutSet(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("the held-out set needs a capacity of at least 1, got " + capacity);
        }
        this.capacity = capacity;
        this.items = new LinkedHashMap<>(16, 0.75f, false);
    }

    /**
     * Takes the EVAL items of a batch read at {@code offset} of the train-batches topic (a TRAIN batch only
     * moves the offset on). Items whose features do not decode are skipped: the trainer dead-letters them.
     */
    void add(TrainBatch batch, long offset) {
        this.offset = Math.max(this.offset, offset + 1);
        if (batch.getKind() != BatchKind.EVAL) {
            return;
        }
        for (TrainItem item : batch.getItems()) {
            float[] features;
            try {
                FeatureTensor.validate(item.getFeatures(), item.getSampleId());
                features = FeatureTensor.toFloats(item.getFeatures());
            } catch (RuntimeException e) {
                continue;
            }
            items.remove(item.getSampleId()); // seen again: now the most recent
            items.put(item.getSampleId(), new Item(item.getSampleId(), features, item.getLabel(),
                    item.getTask() == null ? "" : item.getTask()));
        }
        for (Iterator<Map.Entry<String, Item>> it = items.entrySet().iterator(); items.size() > capacity; ) {
            it.next();
            it.remove();
        }
    }

    /** Moves the offset on past a record that is not a batch (a transaction marker, an undecodable record). */
    void skip(long offset) {
        this.offset = Math.max(this.offset, offset + 1);
    }

    /** The next offset of the train-batches topic after what was read. */
    long offset() {
        return offset;
    }

    int size() {
        return items.size();
    }

    /** The items, oldest first. */
    List<Item> items() {
        return new ArrayList<>(items.values());
    }
}
