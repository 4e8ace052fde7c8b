package io.rehearsal.models.train;

import io.rehearsal.schemas.avro.BatchKind;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.util.ArrayList;
import java.util.List;

/**
 * Overload, fresh first: the fresh items of batches the trainer read late, gathered into steps of a normal
 * batch's size. A curator batch is mostly recalls (with the defaults 8 of its 32 groups are fresh), so a
 * trainer that trains only the fresh items of late batches, a batch's worth of views per step, catches up
 * with the stream about four times faster than one that trains every batch whole, and a sample still gets
 * its fresh visit. The recalls of a packed batch are shed (they are due again later); everything else about a
 * step stays as it is (loss, views, augmentations, seed by step number).
 *
 * <p>Items are copied with their resolved features, so the batches they came from may release their
 * features as soon as they are added. Not thread-safe: the trainer's loop owns it.
 */
final class FreshPack {
    private final List<TrainItem> items = new ArrayList<>();
    private int views;
    private int targetViews;
    private int batches;
    private TrainBatch last;
    private long sampleOffset = -1;

    /**
     * Adds the fresh items of {@code batch} (a resolved TRAIN batch).
     *
     * @return how many of its items were recalls, shed
     */
    int add(TrainBatch batch) {
        int shed = 0;
        int batchViews = 0;
        for (TrainItem item : batch.getItems()) {
            batchViews += item.getViews();
            if (item.getRole() == ItemRole.FRESH) {
                items.add(TrainItem.newBuilder(item).build());
                views += item.getViews();
            } else {
                shed++;
            }
        }
        targetViews = Math.max(targetViews, batchViews);
        sampleOffset = Math.max(sampleOffset, batch.getSampleOffset());
        batches++;
        last = batch;
        return shed;
    }

    /** Whether the pack holds the views of the largest batch it packed from, or more: a step is due. */
    boolean full() {
        return !items.isEmpty() && views >= targetViews;
    }

    boolean isEmpty() {
        return items.isEmpty();
    }

    /** Batches added since the last {@link #take}, packed or with no fresh item at all. */
    int batches() {
        return batches;
    }

    /**
     * The packed step: the fresh items gathered so far, numbered as one batch's groups, named after the newest
     * batch they came from; the pack is empty afterwards.
     */
    TrainBatch take() {
        List<TrainItem> packed = new ArrayList<>(items);
        for (int i = 0; i < packed.size(); i++) {
            packed.get(i).setGroupId(i);
        }
        TrainBatch step = TrainBatch.newBuilder(last).setBatchId("packed:" + batches + ":" + last.getBatchId())
                .setKind(BatchKind.TRAIN).setItems(packed).setSampleOffset(sampleOffset).build();
        items.clear();
        views = 0;
        targetViews = 0;
        batches = 0;
        sampleOffset = -1;
        last = null;
        return step;
    }
}
