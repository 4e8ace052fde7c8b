package io.rehearsal.schemas;

import org.apache.avro.util.ClassSecurityValidator;

/**
 * Process-wide Avro settings that rehearsal needs before any record is decoded.
 *
 * <ul>
 *   <li>Avro 1.12 refuses to instantiate classes outside a trusted set ({@code SecurityException:
 *       Forbidden ... not trusted}). Rehearsal's generated records live in {@value #PACKAGE}; this
 *       trusts that package once per JVM, so no launcher has to remember
 *       {@code -Dorg.apache.avro.SERIALIZABLE_PACKAGES}.</li>
 *   <li>A corrupted length prefix can make Avro allocate up to 2 GiB for one field. Unless the user set
 *       them, the byte and collection limits are lowered to sizes no rehearsal record needs, so garbage
 *       fails fast with an exception instead of an OutOfMemoryError. They must be set before Avro's
 *       {@code SystemLimitException} class loads, hence here.</li>
 * </ul>
 */
final class AvroTrust {
    static final String PACKAGE = "io.rehearsal.schemas.avro";
    /** Largest bytes/string field accepted: 64 MiB, well above Kafka's default 1 MiB message limit. */
    static final String MAX_BYTES = Integer.toString(64 << 20);
    /** Largest array or map accepted. */
    static final String MAX_ITEMS = Integer.toString(16 << 20);

    private static volatile boolean installed;

    private AvroTrust() {
    }

    static void ensure() {
        if (installed) {
            return;
        }
        synchronized (AvroTrust.class) {
            if (!installed) {
                setIfAbsent("org.apache.avro.limits.bytes.maxLength", MAX_BYTES);
                setIfAbsent("org.apache.avro.limits.string.maxLength", MAX_BYTES);
                setIfAbsent("org.apache.avro.limits.collectionItems.maxLength", MAX_ITEMS);
                ClassSecurityValidator.ClassSecurityPredicate previous = ClassSecurityValidator.getGlobal();
                ClassSecurityValidator.setGlobal(ClassSecurityValidator.composite(previous,
                        type -> type.getName().startsWith(PACKAGE + ".")));
                installed = true;
            }
        }
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) {
            System.setProperty(key, value);
        }
    }
}
