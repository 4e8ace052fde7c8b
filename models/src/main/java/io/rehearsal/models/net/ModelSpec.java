package io.rehearsal.models.net;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What network to build: an architecture name, the input shape of one sample (without the batch
 * dimension), the number of classes (one head over all classes, class-incremental) and
 * architecture options.
 *
 * <p>Options understood:
 * <ul>
 *   <li>{@code hidden} (mlp): comma-separated hidden widths, default {@code 256,256}</li>
 *   <li>{@code channels} (cnn): comma-separated conv widths, default {@code 32,64}</li>
 *   <li>{@code dense} (cnn): width of the dense layer before the head, default {@code 128}</li>
 *   <li>{@code groups} (cnn): GroupNorm groups, default {@code 8}</li>
 *   <li>{@code image}: the image shape {@code CxHxW} of a flat input, e.g. {@code 1x28x28} for a
 *       784-vector, so shift/crop/erasing augmentations work on it; implied for a rank-3 input</li>
 *   <li>{@code flip}: {@code true} if horizontal flips keep the label (not for digits); default false</li>
 *   <li>{@code sha256} (torchscript, required): hex SHA-256 of the TorchScript module ({@link TorchScriptModule})
 *       that is the network; the module itself travels beside the snapshots, once</li>
 * </ul>
 *
 * @param name       architecture: {@value #MLP}, {@value #CNN} or {@value #TORCHSCRIPT} (a user's module)
 * @param inputShape shape of one sample, e.g. {@code [784]} or {@code [1, 28, 28]}
 * @param numClasses classes of the single head
 * @param options    architecture and augmentation options (see above)
 */
public record ModelSpec(String name, List<Integer> inputShape, int numClasses, Map<String, String> options) {
    public static final String MLP = "mlp";
    public static final String CNN = "cnn";
    /** A user's network: a TorchScript module named by its SHA-256 (option {@value #SHA256}). */
    public static final String TORCHSCRIPT = "torchscript";
    public static final String SHA256 = "sha256";
    private static final Map<String, String> DEFAULTS = Map.of("hidden", "256,256", "channels", "32,64",
            "dense", "128", "groups", "8");
    private static final Set<String> KNOWN_OPTIONS = Set.of("hidden", "channels", "dense", "groups", "image", "flip",
            SHA256);

    public ModelSpec {
        Objects.requireNonNull(name, "name");
        if (!MLP.equals(name) && !CNN.equals(name) && !TORCHSCRIPT.equals(name)) {
            throw new IllegalArgumentException("unknown architecture '" + name + "'; use " + MLP + ", " + CNN + " or "
                    + TORCHSCRIPT);
        }
        inputShape = List.copyOf(inputShape);
        if (inputShape.isEmpty() || inputShape.stream().anyMatch(d -> d <= 0)) {
            throw new IllegalArgumentException("input shape " + inputShape
                    + " must have at least one dimension, all positive, e.g. [784] or [1, 28, 28]");
        }
        if (numClasses < 2) {
            throw new IllegalArgumentException("numClasses is " + numClasses + "; a classifier needs at least 2 classes");
        }
        options = Map.copyOf(new TreeMap<>(options));
        for (String key : options.keySet()) {
            if (!KNOWN_OPTIONS.contains(key)) {
                throw new IllegalArgumentException("unknown model option '" + key + "'; known options are "
                        + new java.util.TreeSet<>(KNOWN_OPTIONS));
            }
        }
        long elements = elementsOf(inputShape);
        Optional<int[]> image = imageShapeOf(inputShape, options);
        if (image.isPresent() && elementsOf(toList(image.get())) != elements) {
            throw new IllegalArgumentException("image shape " + Arrays.toString(image.get()) + " has "
                    + elementsOf(toList(image.get())) + " elements but the input shape " + inputShape + " has " + elements);
        }
        if (CNN.equals(name) && image.isEmpty()) {
            throw new IllegalArgumentException("the cnn needs an image input: give inputShape [C, H, W] or the option "
                    + "image=CxHxW (e.g. image=1x28x28 for a 784-vector)");
        }
        String sha = options.get(SHA256);
        if (TORCHSCRIPT.equals(name) != (sha != null)) {
            throw new IllegalArgumentException(TORCHSCRIPT.equals(name)
                    ? "a torchscript model needs the option sha256 (the hex SHA-256 of its module file)"
                    : "the option sha256 names a TorchScript module; the " + name + " network has none");
        }
        if (sha != null && !sha.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("model option sha256=" + sha + " must be 64 lowercase hex digits");
        }
        for (var option : DEFAULTS.entrySet()) { // fail early on malformed number lists
            ints(options, option.getKey(), option.getValue());
        }
    }

    /** An MLP over a flat input, hidden widths e.g. {@code 256, 256}. */
    public static ModelSpec mlp(int inputSize, int numClasses, int... hidden) {
        Map<String, String> options = hidden.length == 0 ? Map.of() : Map.of("hidden", join(hidden));
        return new ModelSpec(MLP, List.of(inputSize), numClasses, options);
    }

    /** The small CNN over {@code 1 x side x side} grayscale images. */
    public static ModelSpec cnn(int side, int numClasses) {
        return new ModelSpec(CNN, List.of(1, side, side), numClasses, Map.of());
    }

    /** This spec with one more option. */
    public ModelSpec withOption(String key, String value) {
        Map<String, String> copy = new TreeMap<>(options);
        copy.put(key, value);
        return new ModelSpec(name, inputShape, numClasses, copy);
    }

    /** Number of input elements of one sample. */
    public int inputSize() {
        return Math.toIntExact(elementsOf(inputShape));
    }

    public long[] inputShapeArray() {
        return inputShape.stream().mapToLong(Integer::longValue).toArray();
    }

    /** The image shape {@code [C, H, W]} if the input is an image (rank 3, or option {@code image}). */
    public Optional<int[]> imageShape() {
        return imageShapeOf(inputShape, options);
    }

    /** Whether the network is a user's TorchScript module (see {@link TorchScriptModule}). */
    public boolean isTorchScript() {
        return TORCHSCRIPT.equals(name);
    }

    /** The SHA-256 of the TorchScript module, for a {@value #TORCHSCRIPT} spec. */
    public Optional<String> moduleSha256() {
        return Optional.ofNullable(options.get(SHA256));
    }

    public boolean flipAllowed() {
        return Boolean.parseBoolean(options.getOrDefault("flip", "false"));
    }

    public int[] hidden() {
        return ints(options, "hidden", DEFAULTS.get("hidden"));
    }

    public int[] channels() {
        return ints(options, "channels", DEFAULTS.get("channels"));
    }

    public int denseUnits() {
        return ints(options, "dense", DEFAULTS.get("dense"))[0];
    }

    public int groups() {
        return ints(options, "groups", DEFAULTS.get("groups"))[0];
    }

    private static int[] ints(Map<String, String> options, String key, String defaults) {
        String value = options.getOrDefault(key, defaults);
        try {
            int[] values = Arrays.stream(value.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
            if (values.length == 0 || Arrays.stream(values).anyMatch(v -> v <= 0)) {
                throw new NumberFormatException("not positive");
            }
            return values;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("model option " + key + "=" + value
                    + " must be positive integers separated by commas, e.g. " + defaults, e);
        }
    }

    private static Optional<int[]> imageShapeOf(List<Integer> inputShape, Map<String, String> options) {
        String image = options.get("image");
        if (image != null) {
            try {
                int[] dims = Arrays.stream(image.toLowerCase().split("x")).map(String::trim)
                        .mapToInt(Integer::parseInt).toArray();
                if (dims.length != 3 || Arrays.stream(dims).anyMatch(d -> d <= 0)) {
                    throw new NumberFormatException("need three positive dimensions");
                }
                return Optional.of(dims);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("model option image=" + image
                        + " must be CxHxW with positive numbers, e.g. 1x28x28", e);
            }
        }
        if (inputShape.size() == 3) {
            return Optional.of(inputShape.stream().mapToInt(Integer::intValue).toArray());
        }
        return Optional.empty();
    }

    private static long elementsOf(List<Integer> shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    private static List<Integer> toList(int[] values) {
        List<Integer> list = new ArrayList<>(values.length);
        for (int v : values) {
            list.add(v);
        }
        return list;
    }

    private static String join(int[] values) {
        StringBuilder sb = new StringBuilder();
        for (int v : values) {
            sb.append(sb.length() == 0 ? "" : ",").append(v);
        }
        return sb.toString();
    }

    /** The Avro form carried in every snapshot. */
    public io.rehearsal.schemas.avro.ModelSpec toAvro() {
        return new io.rehearsal.schemas.avro.ModelSpec(name, inputShape, numClasses, new TreeMap<>(options));
    }

    public static ModelSpec fromAvro(io.rehearsal.schemas.avro.ModelSpec avro) {
        return new ModelSpec(avro.getName(), avro.getInputShape(), avro.getNumClasses(), avro.getOptions());
    }

    @Override
    public String toString() {
        return name + inputShape + "->" + numClasses + (options.isEmpty() ? "" : " " + new TreeMap<>(options));
    }
}
