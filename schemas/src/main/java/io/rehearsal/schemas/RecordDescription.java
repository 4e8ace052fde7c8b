package io.rehearsal.schemas;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A settings record as flat strings, for logs, reports and model provenance: every record component by
 * name, nested records flattened with dotted names ({@code batches.views}), in sorted order. Derived
 * from the record's own components, so a new setting is described the moment it is declared, and
 * nothing is kept by hand.
 */
public final class RecordDescription {
    private RecordDescription() {
    }

    /** Every component of {@code settings}, nested records flattened, as {@code name -> value}. */
    public static Map<String, String> of(Record settings) {
        Map<String, String> out = new TreeMap<>();
        add(out, "", settings);
        return out;
    }

    private static void add(Map<String, String> out, String prefix, Record r) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object value;
            try {
                value = c.getAccessor().invoke(r);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read " + r.getClass().getSimpleName() + "." + c.getName(), e);
            }
            String name = prefix + c.getName();
            if (value instanceof Record nested) {
                add(out, name + ".", nested);
            } else {
                out.put(name, text(value));
            }
        }
    }

    private static String text(Object value) {
        if (value == null) {
            return "";
        }
        if (value instanceof Optional<?> o) {
            return o.map(RecordDescription::text).orElse("");
        }
        if (value instanceof Map<?, ?> m) {
            return new TreeMap<>(m.entrySet().stream().collect(Collectors.toMap(e -> text(e.getKey()), e -> text(e.getValue()))))
                    .toString();
        }
        if (value instanceof Collection<?> c && !(value instanceof java.util.List<?>)) {
            return c.stream().map(RecordDescription::text).sorted().collect(Collectors.joining(",", "[", "]"));
        }
        return value.toString();
    }
}
