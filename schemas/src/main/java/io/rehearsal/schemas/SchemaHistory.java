package io.rehearsal.schemas;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.avro.Schema;

/**
 * Every released version of rehearsal's record schemas, read from the classpath
 * ({@code io/rehearsal/schemas/released/index.txt} lists the files). Decoders resolve records written
 * with any of them, and the compatibility test proves the current schemas read and are read by them.
 *
 * <p>To release a schema change: copy the new schema (fully resolved, {@code getClassSchema()}) to
 * {@code released/<Name>.v<N>.avsc} and add it to the index; the tests then hold it to compatibility
 * forever after.
 */
public final class SchemaHistory {
    private static final String ROOT = "/io/rehearsal/schemas/released/";

    private SchemaHistory() {
    }

    /** A released schema and the file it came from. */
    public record Released(String file, Schema schema) {
        /** The record's simple name, e.g. {@code Sample}. */
        public String recordName() {
            return schema.getName();
        }
    }

    /** All released schemas, in index order. */
    public static List<Released> all() {
        List<Released> out = new ArrayList<>();
        for (String file : index()) {
            try (InputStream in = SchemaHistory.class.getResourceAsStream(ROOT + file)) {
                Objects.requireNonNull(in, () -> "released schema " + file + " is listed in index.txt but missing");
                out.add(new Released(file, new Schema.Parser().parse(in)));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read released schema " + file, e);
            }
        }
        return out;
    }

    /** Released schemas of one record, oldest first. */
    public static List<Schema> of(Schema current) {
        return all().stream()
                .filter(r -> r.schema().getFullName().equals(current.getFullName()))
                .map(Released::schema)
                .toList();
    }

    private static List<String> index() {
        try (InputStream in = SchemaHistory.class.getResourceAsStream(ROOT + "index.txt")) {
            if (in == null) {
                return List.of();
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            return reader.lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the released schema index", e);
        }
    }
}
