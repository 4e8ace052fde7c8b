package io.rehearsal.streams;

import io.rehearsal.streams.errors.Source;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.processor.StreamPartitioner;

/**
 * Partition-independent routing of the curator's inputs. A sample and its feedback must meet on one
 * shard, but producers partition by the key with their client's default partitioner: the Java client
 * hashes with murmur2, librdkafka (kcat) and confluent-kafka (Python) with CRC32, so the same sample id
 * lands on different partitions. The canonical shard of a record is the Java client's partition of its
 * sample id (taken from the decoded record, not the key): a record read elsewhere is forwarded, bytes
 * untouched, to {@code <prefix>.curator-reroute} keyed by its sample id and partitioned canonically, with
 * headers naming where it came from, and processed when read back there. Producers that use the
 * canonical partitioner (every Java client, librdkafka's {@code murmur2_random}) pay nothing.
 */
final class Reroute {
    /** Which input a rerouted record came from: {@code samples} or {@code feedback}. */
    static final String INPUT_HEADER = "rehearsal.input";
    static final String TOPIC_HEADER = "rehearsal.source.topic";
    static final String PARTITION_HEADER = "rehearsal.source.partition";
    static final String OFFSET_HEADER = "rehearsal.source.offset";

    /** The input a record came from. */
    enum Input {
        SAMPLES("samples"), FEEDBACK("feedback");

        final String tag;

        Input(String tag) {
            this.tag = tag;
        }

        static Optional<Input> of(String tag) {
            for (Input i : values()) {
                if (i.tag.equals(tag)) {
                    return Optional.of(i);
                }
            }
            return Optional.empty();
        }
    }

    private Reroute() {
    }

    /** The canonical partition of a sample id among {@code partitions}: the Java client's murmur2 of its UTF-8 bytes. */
    static int partitionOf(String sampleId, int partitions) {
        return partitionOf(sampleId.getBytes(StandardCharsets.UTF_8), partitions);
    }

    static int partitionOf(byte[] key, int partitions) {
        return Utils.toPositive(Utils.murmur2(key)) % partitions;
    }

    /** Partitions rerouted records (key: sample id bytes) as the Java client does. */
    static StreamPartitioner<Object, Object> partitioner() {
        return (topic, key, value, numPartitions) -> Optional.of(Set.of(partitionOf((byte[]) key, numPartitions)));
    }

    /** The headers of a rerouted record: its input and where it was first read. */
    static Headers headers(Input input, Source src) {
        RecordHeaders h = new RecordHeaders();
        h.add(INPUT_HEADER, bytes(input.tag));
        h.add(TOPIC_HEADER, bytes(src.topic()));
        h.add(PARTITION_HEADER, bytes(Integer.toString(src.partition())));
        h.add(OFFSET_HEADER, bytes(Long.toString(src.offset())));
        return h;
    }

    /** Where a rerouted record was first read, or empty when its headers are missing or garbled. */
    static Optional<Origin> origin(Headers headers) {
        try {
            Optional<Input> input = Input.of(text(headers, INPUT_HEADER));
            String topic = text(headers, TOPIC_HEADER);
            String partition = text(headers, PARTITION_HEADER);
            String offset = text(headers, OFFSET_HEADER);
            if (input.isEmpty() || topic == null || partition == null || offset == null) {
                return Optional.empty();
            }
            return Optional.of(new Origin(input.get(), topic, Integer.parseInt(partition), Long.parseLong(offset)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The input, topic, partition and offset a rerouted record was first read at. */
    record Origin(Input input, String topic, int partition, long offset) {
    }

    private static String text(Headers headers, String name) {
        Header h = headers.lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
