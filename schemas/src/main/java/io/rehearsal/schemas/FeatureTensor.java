package io.rehearsal.schemas;

import io.rehearsal.schemas.RecordDecodeException.Reason;
import io.rehearsal.schemas.avro.DType;
import io.rehearsal.schemas.avro.Features;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds, reads and checks {@link Features}: a shape plus row-major little-endian data.
 *
 * <p>uint8 features are read as floats in [0, 1] (divided by 255), the usual scaling for images, so a
 * producer may send raw pixels at a quarter of the bytes.
 */
public final class FeatureTensor {
    /** The largest tensor a record may carry (elements): 16 Mi. */
    public static final long MAX_ELEMENTS = 1L << 24;

    private FeatureTensor() {
    }

    public static Features ofFloats(int[] shape, float[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(values);
        return new Features(toList(shape), DType.FLOAT32, buffer);
    }

    public static Features ofBytes(int[] shape, byte[] values) {
        return new Features(toList(shape), DType.UINT8, ByteBuffer.wrap(values.clone()));
    }

    /** Number of elements the shape describes. */
    public static long elements(Features features) {
        long n = 1;
        for (int d : features.getShape()) {
            n *= d;
        }
        return n;
    }

    /** The data as floats (uint8 scaled to [0, 1]). Call {@link #validate} first on untrusted input. */
    public static float[] toFloats(Features features) {
        ByteBuffer data = features.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (features.getDtype() == DType.FLOAT32) {
            float[] out = new float[data.remaining() / Float.BYTES];
            data.asFloatBuffer().get(out);
            return out;
        }
        byte[] bytes = new byte[data.remaining()];
        data.get(bytes); // one bulk copy: a get() per element was a visible part of a small training step
        float[] out = new float[bytes.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (bytes[i] & 0xff) / 255f;
        }
        return out;
    }

    /**
     * Writes the data as floats (uint8 scaled to [0, 1]) at {@code dest}'s position and advances it, without
     * intermediate arrays. Call {@link #validate} first on untrusted input.
     */
    public static void copyFloats(Features features, java.nio.FloatBuffer dest) {
        ByteBuffer data = features.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (features.getDtype() == DType.FLOAT32) {
            dest.put(data.asFloatBuffer());
            return;
        }
        int n = data.remaining();
        int start = data.position();
        if (data.hasArray()) {
            byte[] bytes = data.array();
            int base = data.arrayOffset() + start;
            for (int i = 0; i < n; i++) {
                dest.put((bytes[base + i] & 0xff) / 255f);
            }
        } else {
            for (int i = 0; i < n; i++) {
                dest.put((data.get(start + i) & 0xff) / 255f);
            }
        }
    }

    public static int[] shape(Features features) {
        return features.getShape().stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Checks that the shape is sane, matches the data length, and that float data is finite.
     *
     * @throws RecordDecodeException with reason INVALID_VALUE, SHAPE_MISMATCH or NON_FINITE
     */
    public static void validate(Features features, String sampleId) {
        List<Integer> shape = features.getShape();
        if (shape.isEmpty()) {
            throw new RecordDecodeException(Reason.INVALID_VALUE,
                    "sample " + sampleId + ": features.shape is empty; give at least one dimension, e.g. [784]");
        }
        long elements = 1;
        for (int d : shape) {
            if (d <= 0) {
                throw new RecordDecodeException(Reason.INVALID_VALUE,
                        "sample " + sampleId + ": features.shape " + shape + " has a dimension <= 0");
            }
            elements *= d;
            if (elements > MAX_ELEMENTS) {
                throw new RecordDecodeException(Reason.INVALID_VALUE, "sample " + sampleId + ": features.shape "
                        + shape + " describes more than " + MAX_ELEMENTS + " elements");
            }
        }
        int elementSize = features.getDtype() == DType.FLOAT32 ? Float.BYTES : 1;
        int bytes = features.getData().remaining();
        if (bytes != elements * elementSize) {
            throw new RecordDecodeException(Reason.SHAPE_MISMATCH, String.format(
                    "sample %s: features.shape %s needs %d %s elements (%d bytes) but data has %d bytes; "
                            + "check the producer's shape", sampleId, shape, elements,
                    features.getDtype().name().toLowerCase(), elements * elementSize, bytes));
        }
        if (features.getDtype() == DType.FLOAT32) {
            ByteBuffer data = features.getData().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < elements; i++) {
                float v = data.getFloat();
                if (!Float.isFinite(v)) {
                    throw new RecordDecodeException(Reason.NON_FINITE, String.format(
                            "sample %s: feature %d is %s; features must be finite numbers", sampleId, i, v));
                }
            }
        }
    }

    private static List<Integer> toList(int[] shape) {
        List<Integer> list = new ArrayList<>(shape.length);
        for (int d : shape) {
            list.add(d);
        }
        return list;
    }
}
