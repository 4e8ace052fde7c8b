package io.rehearsal.bench.data;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fashion-MNIST (Xiao et al. 2017): 28×28 grayscale images of 10 clothing classes, 60,000 for training
 * and 10,000 for testing, read from the IDX files of Debian's {@code dataset-fashion-mnist} package.
 * When those are absent, a small subset shipped in the jar is used instead (300 training and 100 test
 * images per class), after saying how to install the full set.
 */
public final class FashionMnist {
    /** Where Debian's dataset-fashion-mnist package puts the files. */
    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");
    public static final int ROWS = 28;
    public static final int COLS = 28;
    public static final int PIXELS = ROWS * COLS;
    private static final Logger LOG = LoggerFactory.getLogger(FashionMnist.class);
    private static final String SUBSET = "/fashion-mnist-subset/";

    /** Images (row-major uint8, {@value #PIXELS} each) and their labels. */
    public record Split(byte[][] images, int[] labels) {
        public int size() {
            return labels.length;
        }
    }

    /** Both splits and where they came from. */
    public record Data(Split train, Split test, String source) {
    }

    private FashionMnist() {
    }

    /** The full data set from {@code dir} if its four files are there, else the bundled subset. */
    public static Data load(Path dir) {
        if (dir != null && Files.isReadable(dir.resolve("train-images-idx3-ubyte.gz"))) {
            try {
                return new Data(read(Files.newInputStream(dir.resolve("train-images-idx3-ubyte.gz")),
                        Files.newInputStream(dir.resolve("train-labels-idx1-ubyte.gz"))),
                        read(Files.newInputStream(dir.resolve("t10k-images-idx3-ubyte.gz")),
                                Files.newInputStream(dir.resolve("t10k-labels-idx1-ubyte.gz"))),
                        dir.toString());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read Fashion-MNIST from " + dir + ": " + e.getMessage(), e);
            }
        }
        LOG.warn("Fashion-MNIST not found in {}: using the bundled subset (3,000 training / 1,000 test images). "
                + "For the full data set run: sudo apt-get install dataset-fashion-mnist", dir);
        return bundledSubset();
    }

    /** The subset shipped in the jar. */
    public static Data bundledSubset() {
        try {
            return new Data(read(resource("train-images-idx3-ubyte.gz"), resource("train-labels-idx1-ubyte.gz")),
                    read(resource("t10k-images-idx3-ubyte.gz"), resource("t10k-labels-idx1-ubyte.gz")),
                    "bundled subset");
        } catch (IOException e) {
            throw new UncheckedIOException("the bundled Fashion-MNIST subset is unreadable", e);
        }
    }

    private static InputStream resource(String name) {
        InputStream in = FashionMnist.class.getResourceAsStream(SUBSET + name);
        if (in == null) {
            throw new IllegalStateException("bundled Fashion-MNIST file " + name + " is missing from the jar");
        }
        return in;
    }

    /** Reads an IDX3 image file and its IDX1 label file (both gzip). */
    static Split read(InputStream imagesGz, InputStream labelsGz) throws IOException {
        try (DataInputStream images = new DataInputStream(new GZIPInputStream(imagesGz, 1 << 16));
             DataInputStream labels = new DataInputStream(new GZIPInputStream(labelsGz, 1 << 16))) {
            expect(images.readInt(), 0x00000803, "image");
            int n = images.readInt();
            int rows = images.readInt();
            int cols = images.readInt();
            if (rows != ROWS || cols != COLS) {
                throw new IOException("expected 28x28 images, found " + rows + "x" + cols);
            }
            expect(labels.readInt(), 0x00000801, "label");
            int m = labels.readInt();
            if (m != n) {
                throw new IOException(n + " images but " + m + " labels");
            }
            byte[][] x = new byte[n][PIXELS];
            int[] y = new int[n];
            for (int i = 0; i < n; i++) {
                images.readFully(x[i]);
                y[i] = labels.readUnsignedByte();
            }
            return new Split(x, y);
        }
    }

    private static void expect(int magic, int wanted, String what) throws IOException {
        if (magic != wanted) {
            throw new IOException(String.format("not an IDX %s file (magic %08x, expected %08x)", what, magic, wanted));
        }
    }
}
