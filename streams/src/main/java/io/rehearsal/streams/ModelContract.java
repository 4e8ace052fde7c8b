package io.rehearsal.streams;

import java.util.List;
import java.util.Objects;

/**
 * What a model accepts: the shape of one input and the number of classes. Samples whose features do
 * not hold exactly {@link #inputSize()} elements, or whose label is outside {@code [0, numClasses)},
 * go to the dead-letter topic instead of the buffer.
 *
 * @param inputShape dimensions of one input, outermost first, e.g. {@code [784]} or {@code [1, 28, 28]}
 * @param numClasses number of classes; labels are {@code 0 .. numClasses - 1}
 */
public record ModelContract(List<Integer> inputShape, int numClasses) {
    public ModelContract {
        Objects.requireNonNull(inputShape, "inputShape");
        inputShape = List.copyOf(inputShape);
        if (inputShape.isEmpty() || inputShape.stream().anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("input shape " + inputShape + " needs at least one dimension, all > 0");
        }
        if (numClasses < 2) {
            throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + numClasses);
        }
    }

    /** A flat input of {@code size} features. */
    public static ModelContract flat(int size, int numClasses) {
        return new ModelContract(List.of(size), numClasses);
    }

    /** Fashion-MNIST: 784 features (28 x 28), 10 classes. */
    public static ModelContract fashionMnist() {
        return flat(784, 10);
    }

    /** Number of features in one input: the product of the shape. */
    public long inputSize() {
        long n = 1;
        for (int d : inputShape) {
            n *= d;
        }
        return n;
    }
}
