package io.rehearsal.bench.experiment;

import io.rehearsal.cli.report.AccuracyMatrix;
import io.rehearsal.cli.report.LearningCurves.Point;
import java.util.List;
import java.util.Map;

/**
 * What a run measured.
 *
 * @param matrix               accuracy on each task after each task (for the joint run only the last row)
 * @param finalAccuracy        mean accuracy over all tasks at the end
 * @param forgetting           average forgetting (NaN for the joint run)
 * @param prequential          accuracy of fresh samples predicted before being trained on
 * @param evalSetAccuracy      the trainer's accuracy over the streamed EVAL samples at the end
 * @param steps                training steps (TRAIN batches)
 * @param views                sample views trained on
 * @param seconds              wall time of the run
 * @param curves               per task: accuracy over steps
 * @param boundaries           step at which each task after the first started
 * @param deadLetters          records the curator refused
 */
public record ExperimentResult(String name, AccuracyMatrix matrix, double finalAccuracy, double forgetting,
                               double prequential, double evalSetAccuracy, long steps, long views, double seconds,
                               Map<String, List<Point>> curves, Map<Double, String> boundaries, long deadLetters) {
}
