package io.rehearsal.models.snapshot;

import io.rehearsal.models.runtime.NamedTensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * Parameters as a numpy {@code .npz} archive, the blob format of snapshots ({@code encoding = "npz"}):
 * a zip with one uncompressed ({@code STORED}, as {@code numpy.savez} writes) entry {@code <name>.npy}
 * per parameter, in network order, each a version 1.0 {@code .npy} file of little-endian float32
 * ({@code '<f4'}), C order. {@code numpy.load(io.BytesIO(blob))} reads it.
 *
 * <p>The bytes are a pure function of the tensors: entry times are fixed (1980-01-01) and nothing is
 * compressed, so the same weights always give the same SHA-256. (DJL's own NPZ writer stamps the
 * current time into every entry.)
 */
public final class NpzFormat {
    /** The {@code ParameterBlob.encoding} of this format. */
    public static final String ENCODING = "npz";
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

    private NpzFormat() {
    }

    /** Encodes the tensors, in order. */
    public static byte[] write(List<NamedTensor> tensors) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (NamedTensor t : tensors) {
                byte[] npy = npy(t);
                ZipEntry entry = new ZipEntry(t.name() + ".npy");
                entry.setMethod(ZipEntry.STORED);
                entry.setTimeLocal(FIXED_TIME);
                entry.setSize(npy.length);
                entry.setCompressedSize(npy.length);
                CRC32 crc = new CRC32();
                crc.update(npy);
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(npy);
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write npz", e);
        }
        return out.toByteArray();
    }

    /**
     * Decodes an archive written by {@link #write} (or by {@code numpy.savez} with float32 arrays).
     *
     * @throws IllegalArgumentException if it is not an npz of little-endian float32 C-order arrays
     */
    public static List<NamedTensor> read(byte[] npz) {
        List<NamedTensor> tensors = new ArrayList<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(npz))) {
            ZipEntry entry;
            while ((entry = zip.getNextEntry()) != null) {
                String name = entry.getName();
                if (!name.endsWith(".npy")) {
                    throw new IllegalArgumentException("npz entry '" + name + "' is not a .npy file");
                }
                tensors.add(readNpy(name.substring(0, name.length() - 4), zip));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("parameter blob is not a readable npz archive: " + e.getMessage(), e);
        }
        if (tensors.isEmpty()) {
            throw new IllegalArgumentException("parameter blob is not an npz archive with at least one .npy entry");
        }
        return tensors;
    }

    private static byte[] npy(NamedTensor t) {
        StringBuilder shape = new StringBuilder("(");
        long[] dims = t.shape();
        for (int i = 0; i < dims.length; i++) {
            shape.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        shape.append(dims.length == 1 ? ",)" : ")");
        StringBuilder header = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }");
        int unpadded = MAGIC.length + 2 + 2 + header.length() + 1;
        header.append(" ".repeat((64 - unpadded % 64) % 64)).append('\n');
        byte[] head = header.toString().getBytes(StandardCharsets.US_ASCII);
        ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + head.length + t.data().length * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) head.length).put(head);
        buf.asFloatBuffer().put(t.data());
        return buf.array();
    }

    private static NamedTensor readNpy(String name, InputStream in) throws IOException {
        byte[] prefix = in.readNBytes(8);
        for (int i = 0; i < MAGIC.length; i++) {
            if (prefix.length < 8 || prefix[i] != MAGIC[i]) {
                throw new IllegalArgumentException("npz entry " + name + " is not a .npy array (bad magic)");
            }
        }
        int major = prefix[6];
        int headerLength;
        if (major == 1) {
            headerLength = ByteBuffer.wrap(in.readNBytes(2)).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xffff;
        } else if (major == 2 || major == 3) {
            headerLength = ByteBuffer.wrap(in.readNBytes(4)).order(ByteOrder.LITTLE_ENDIAN).getInt();
        } else {
            throw new IllegalArgumentException("npz entry " + name + " uses .npy format version " + major + ", not 1, 2 or 3");
        }
        String header = new String(in.readNBytes(headerLength), StandardCharsets.ISO_8859_1);
        String descr = group(DESCR, header, name, "descr");
        if (!"<f4".equals(descr)) {
            throw new IllegalArgumentException("parameter " + name + " has dtype '" + descr
                    + "'; snapshot parameters must be little-endian float32 ('<f4')");
        }
        if ("True".equals(group(ORDER, header, name, "fortran_order"))) {
            throw new IllegalArgumentException("parameter " + name + " is in Fortran order; write it in C order");
        }
        String dimsText = group(SHAPE, header, name, "shape").trim();
        List<Long> dims = new ArrayList<>();
        for (String d : dimsText.split(",")) {
            if (!d.isBlank()) {
                dims.add(Long.parseLong(d.trim()));
            }
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            count *= d;
        }
        if (count > Integer.MAX_VALUE / Float.BYTES) {
            throw new IllegalArgumentException("parameter " + name + " has " + count + " values, more than a snapshot may hold");
        }
        byte[] data = in.readNBytes((int) count * Float.BYTES);
        if (data.length != count * Float.BYTES) {
            throw new IllegalArgumentException("parameter " + name + " is truncated: " + data.length + " of "
                    + count * Float.BYTES + " bytes");
        }
        float[] values = new float[(int) count];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return new NamedTensor(name, shape, values);
    }

    private static String group(Pattern pattern, String header, String name, String field) {
        Matcher m = pattern.matcher(header);
        if (!m.find()) {
            throw new IllegalArgumentException("parameter " + name + ": .npy header has no " + field + ": " + header.trim());
        }
        return m.group(1);
    }
}
