package io.rehearsal.models.runtime;

import java.util.Arrays;
import java.util.Objects;

/**
 * One named float32 tensor of a model's parameters, row-major.
 *
 * @param name  the parameter's name in the network (stable for a given {@link io.rehearsal.models.net.ModelSpec})
 * @param shape its dimensions
 * @param data  its values, row-major; length = product of shape
 */
public record NamedTensor(String name, long[] shape, float[] data) {
    public NamedTensor {
        Objects.requireNonNull(name, "name");
        shape = shape.clone();
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor " + name + " has a negative dimension in " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor " + name + " of shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + data.length);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
