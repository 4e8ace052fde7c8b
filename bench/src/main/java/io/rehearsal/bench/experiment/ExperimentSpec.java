package io.rehearsal.bench.experiment;

import io.rehearsal.bench.data.ClassIncrementalStream;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.streams.CuratorSettings;
import java.util.Objects;

/**
 * One continual-learning run: the stream, the curator and the trainer settings, and how often to
 * measure the learning curves.
 *
 * @param name               label in reports, e.g. "view-batch R=4"
 * @param stream             the class-incremental stream (or the joint one)
 * @param curator            curator settings (schedule, buffer, views)
 * @param trainer            trainer settings (model, optimizer, consistency loss)
 * @param curveEverySteps    evaluate the held-out test images for the learning curves every this many steps (0 = off)
 * @param curveImagesPerTask test images per task in each curve point (the matrix always uses all)
 */
public record ExperimentSpec(String name, ClassIncrementalStream.Settings stream, CuratorSettings curator,
                             TrainerSettings trainer, int curveEverySteps, int curveImagesPerTask) {
    public ExperimentSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(curator, "curator");
        Objects.requireNonNull(trainer, "trainer");
        if (curveEverySteps < 0 || curveImagesPerTask < 1) {
            throw new IllegalArgumentException("curveEverySteps must be >= 0 and curveImagesPerTask >= 1");
        }
        if (curator.contractOf(stream.modelId()).inputSize() != trainer.spec().inputSize()) {
            throw new IllegalArgumentException("the curator's input size " + curator.contractOf(stream.modelId()).inputSize()
                    + " differs from the model's " + trainer.spec().inputSize());
        }
    }
}
