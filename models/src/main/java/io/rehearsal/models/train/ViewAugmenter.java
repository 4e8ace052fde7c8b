package io.rehearsal.models.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.rehearsal.models.net.ModelSpec;
import java.util.Optional;

/**
 * Builds augmented views with array operations on the arrays' device (no per-sample loops, no copies
 * to the JVM heap). Every sample of a batch gets its own random parameters, drawn from PyTorch's
 * generator, which the trainer re-seeds every step.
 *
 * <p>Images ({@code [N, C, H, W]}, or flat rows the spec gives an image shape): a random shift with
 * zero fill (weak: up to {@link AugmentSettings#weakShift()} pixels; strong: up to {@link
 * AugmentSettings#strongShift()}), for strong views also a horizontal flip with probability 1/2 where
 * the spec allows it, one erased rectangle and Gaussian noise. Flat inputs: strong views get Gaussian
 * noise and feature dropout; the weak view is the input itself.
 */
public final class ViewAugmenter {
    private final AugmentSettings settings;
    private final Optional<int[]> image;
    private final boolean flip;

    public ViewAugmenter(ModelSpec spec, AugmentSettings settings) {
        this.settings = settings;
        this.image = spec.imageShape();
        this.flip = spec.flipAllowed();
    }

    /** The anchor view of each row of {@code x} (shape {@code [N, input...]}); same shape. */
    public NDArray weak(NDArray x) {
        if (image.isEmpty() || settings.weakShift() == 0) {
            return x;
        }
        return asImage(x, img -> shift(img, settings.weakShift()));
    }

    /** A strong view of each row of {@code x} (shape {@code [N, input...]}); same shape. */
    public NDArray strong(NDArray x) {
        if (image.isEmpty()) {
            NDArray out = x;
            if (settings.featureDropout() > 0) {
                NDArray keep = x.getManager().randomUniform(0f, 1f, x.getShape()).gte(settings.featureDropout());
                out = out.mul(keep.toType(DataType.FLOAT32, false));
            }
            return noise(out);
        }
        return asImage(x, img -> {
            NDArray out = settings.strongShift() > 0 ? shift(img, settings.strongShift()) : img;
            if (flip) {
                out = randomFlip(out);
            }
            if (settings.eraseProbability() > 0 && settings.eraseMaxFraction() > 0) {
                out = erase(out);
            }
            return noise(out);
        });
    }

    private NDArray asImage(NDArray x, java.util.function.UnaryOperator<NDArray> op) {
        int[] chw = image.orElseThrow();
        Shape original = x.getShape();
        NDArray img = x.reshape(original.get(0), chw[0], chw[1], chw[2]);
        return op.apply(img).reshape(original);
    }

    /** Shifts each image by its own (dy, dx) in [-max, max], filling with zeros. */
    private static NDArray shift(NDArray img, int max) {
        NDManager m = img.getManager();
        Shape s = img.getShape();
        long n = s.get(0);
        long c = s.get(1);
        int h = (int) s.get(2);
        int w = (int) s.get(3);
        NDArray dy = m.randomInteger(-max, max + 1, new Shape(n, 1, 1), DataType.INT64);
        NDArray dx = m.randomInteger(-max, max + 1, new Shape(n, 1, 1), DataType.INT64);
        NDArray ys = m.arange(0, h, 1, DataType.INT64).reshape(1, h, 1).add(dy); // source row per output row
        NDArray xs = m.arange(0, w, 1, DataType.INT64).reshape(1, 1, w).add(dx);
        NDArray inside = ys.gte(0).logicalAnd(ys.lt(h)).logicalAnd(xs.gte(0).logicalAnd(xs.lt(w))); // [n,h,w]
        NDArray index = ys.clip(0, h - 1).mul(w).add(xs.clip(0, w - 1)).reshape(n, 1, (long) h * w)
                .broadcast(n, c, (long) h * w);
        NDArray moved = img.reshape(n, c, (long) h * w).gather(index, 2).reshape(s);
        return moved.mul(inside.reshape(n, 1, h, w).toType(DataType.FLOAT32, false));
    }

    private static NDArray randomFlip(NDArray img) {
        long n = img.getShape().get(0);
        NDArray coin = img.getManager().randomUniform(0f, 1f, new Shape(n, 1, 1, 1)).lt(0.5f);
        return NDArrays.where(coin.broadcast(img.getShape()), img.flip(3), img);
    }

    /** Zeroes one random rectangle per image, with probability {@link AugmentSettings#eraseProbability()}. */
    private NDArray erase(NDArray img) {
        NDManager m = img.getManager();
        Shape s = img.getShape();
        long n = s.get(0);
        int h = (int) s.get(2);
        int w = (int) s.get(3);
        int maxH = Math.max(1, Math.round(h * settings.eraseMaxFraction()));
        int maxW = Math.max(1, Math.round(w * settings.eraseMaxFraction()));
        NDArray eh = m.randomInteger(1, maxH + 1, new Shape(n, 1, 1), DataType.INT64);
        NDArray ew = m.randomInteger(1, maxW + 1, new Shape(n, 1, 1), DataType.INT64);
        NDArray y0 = m.randomInteger(0, h, new Shape(n, 1, 1), DataType.INT64);
        NDArray x0 = m.randomInteger(0, w, new Shape(n, 1, 1), DataType.INT64);
        NDArray ys = m.arange(0, h, 1, DataType.INT64).reshape(1, h, 1);
        NDArray xs = m.arange(0, w, 1, DataType.INT64).reshape(1, 1, w);
        NDArray rows = ys.gte(y0).logicalAnd(ys.lt(y0.add(eh)));
        NDArray cols = xs.gte(x0).logicalAnd(xs.lt(x0.add(ew)));
        NDArray apply = m.randomUniform(0f, 1f, new Shape(n, 1, 1)).lt(settings.eraseProbability());
        NDArray erased = rows.logicalAnd(cols).logicalAnd(apply); // [n,h,w]
        NDArray keep = erased.logicalNot().toType(DataType.FLOAT32, false).reshape(n, 1, h, w);
        return img.mul(keep);
    }

    private NDArray noise(NDArray x) {
        if (settings.noiseStd() == 0) {
            return x;
        }
        return x.add(x.getManager().randomNormal(0f, settings.noiseStd(), x.getShape(), DataType.FLOAT32));
    }
}
