package io.rehearsal.schemas;

import io.rehearsal.schemas.RecordDecodeException.Reason;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka serde for a generated Avro record in Avro's <em>single-object encoding</em>: the marker
 * {@code C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer's schema, then the
 * binary body. Any Avro library can read and write it without a registry.
 *
 * <p>Records written with any released version of the schema ({@link SchemaHistory}) are resolved to
 * the current one. Every failure to decode is a {@link RecordDecodeException}. Instances are
 * thread-safe.
 *
 * @param <T> the generated record class
 */
public final class AvroSerde<T extends SpecificRecord> implements Serde<T> {
    private final Class<T> type;
    private final Schema schema;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    private AvroSerde(Class<T> type) {
        AvroTrust.ensure();
        this.type = type;
        this.schema = schemaOf(type);
        SpecificData model = SpecificData.getForClass(type);
        SchemaStore.Cache store = new SchemaStore.Cache();
        for (Schema released : SchemaHistory.of(schema)) {
            store.addSchema(released);
        }
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema, store);
    }

    /** The serde for one generated record class. */
    public static <T extends SpecificRecord> AvroSerde<T> of(Class<T> type) {
        return new AvroSerde<>(type);
    }

    /** The current (writer) schema. */
    public Schema schema() {
        return schema;
    }

    /** CRC-64-AVRO fingerprint of the current schema, as written after the marker. */
    public long fingerprint() {
        return SchemaNormalization.parsingFingerprint64(schema);
    }

    public byte[] encode(T record) {
        try {
            ByteBuffer buffer = encoder.encode(record);
            if (buffer.hasArray() && buffer.arrayOffset() == 0 && buffer.position() == 0
                    && buffer.remaining() == buffer.array().length) {
                return buffer.array(); // a fresh array (this encoder copies its output): a batch is hundreds of KB, never copy it twice
            }
            byte[] bytes = new byte[buffer.remaining()];
            buffer.get(bytes);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + type.getSimpleName(), e);
        }
    }

    /**
     * Decodes single-object encoded bytes.
     *
     * @throws RecordDecodeException with reason EMPTY, BAD_MARKER, UNKNOWN_FINGERPRINT or MALFORMED_AVRO
     */
    public T decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new RecordDecodeException(Reason.EMPTY, "empty payload where a " + type.getSimpleName() + " was expected");
        }
        try {
            return decoder.decode(bytes);
        } catch (BadHeaderException e) {
            throw new RecordDecodeException(Reason.BAD_MARKER, String.format(
                    "not Avro single-object encoding: a %s must start with bytes C3 01 (found %s); "
                            + "write it with a BinaryMessageEncoder or the JSON form", type.getSimpleName(), head(bytes)), e);
        } catch (MissingSchemaException e) {
            throw new RecordDecodeException(Reason.UNKNOWN_FINGERPRINT, String.format(
                    "unknown schema fingerprint %s for %s: the writer used a schema version this reader does not "
                            + "know (current fingerprint %016x); upgrade the reader or write with a released schema",
                    fingerprintHex(bytes), type.getSimpleName(), fingerprint()), e);
        } catch (IOException | RuntimeException e) {
            throw new RecordDecodeException(Reason.MALFORMED_AVRO, String.format(
                    "corrupt or truncated %s body (%d bytes): %s", type.getSimpleName(), bytes.length, e), e);
        }
    }

    @Override
    public Serializer<T> serializer() {
        return (topic, data) -> data == null ? null : encode(data);
    }

    @Override
    public Deserializer<T> deserializer() {
        return (topic, data) -> data == null ? null : decode(data);
    }

    static String head(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(2, bytes.length); i++) {
            sb.append(String.format("%02X", bytes[i] & 0xff)).append(i == 0 && bytes.length > 1 ? " " : "");
        }
        return sb.toString();
    }

    private static String fingerprintHex(byte[] bytes) {
        if (bytes.length < 10) {
            return "(truncated)";
        }
        long fp = ByteBuffer.wrap(bytes, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        return String.format("%016x", fp);
    }

    private static Schema schemaOf(Class<?> type) {
        return SpecificData.get().getSchema(type);
    }
}
