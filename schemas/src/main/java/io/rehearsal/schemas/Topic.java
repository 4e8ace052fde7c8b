package io.rehearsal.schemas;

import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.serialization.Serde;

/**
 * One topic of rehearsal's public contract: its name, how its keys and values are (de)serialized, and
 * how it should be created.
 *
 * @param name       full topic name, e.g. {@code rehearsal.samples}
 * @param keySerde   serde for record keys
 * @param valueSerde serde for record values
 * @param partitions partition count to create it with
 * @param configs    topic configs to create it with and to check for drift (cleanup policy, retention...)
 * @param <K>        key type
 * @param <V>        value type
 */
public record Topic<K, V>(String name, Serde<K> keySerde, Serde<V> valueSerde, int partitions,
                          Map<String, String> configs) {
    public Topic {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(keySerde, "keySerde");
        Objects.requireNonNull(valueSerde, "valueSerde");
        if (partitions < 1) {
            throw new IllegalArgumentException("topic " + name + " needs at least one partition, got " + partitions);
        }
        configs = Map.copyOf(configs);
    }

    /**
     * The largest record the topic takes ({@code max.message.bytes} as the registry sets it; the broker's
     * default, 1 MiB, where it sets none).
     */
    public int maxMessageBytes() {
        String v = configs.get("max.message.bytes");
        return v == null ? 1 << 20 : Integer.parseInt(v);
    }

    public byte[] serializeKey(K key) {
        return keySerde.serializer().serialize(name, key);
    }

    public byte[] serializeValue(V value) {
        return valueSerde.serializer().serialize(name, value);
    }

    public V deserializeValue(byte[] bytes) {
        return valueSerde.deserializer().deserialize(name, bytes);
    }

    public K deserializeKey(byte[] bytes) {
        return keySerde.deserializer().deserialize(name, bytes);
    }

    @Override
    public String toString() {
        return name;
    }
}
