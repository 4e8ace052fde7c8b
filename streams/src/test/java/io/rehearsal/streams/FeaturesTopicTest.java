package io.rehearsal.streams;

import static io.rehearsal.streams.Given.eval;
import static io.rehearsal.streams.Given.request;
import static io.rehearsal.streams.Given.sample;
import static org.assertj.core.api.Assertions.assertThat;

import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.SampleFeatures;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

/**
 * The features topic: each admitted sample's features written once, batches naming samples only, and a
 * tombstone when the curator lets a sample go, whose headers say after which batch no batch names it.
 */
class FeaturesTopicTest {

    @Test
    void shouldWriteEachAdmittedSampleOnceWithWhereItCameFrom() {
        try (InProcessCurator curator = new InProcessCurator(Given.settings().optEvalCapacityPerClass(5))) {
            curator.sample(sample("a", 1));
            curator.sample(request("r"));
            curator.sample(eval("e", 2));
            curator.sample(sample("b", 3));

            List<TestRecord<String, SampleFeatures>> written = curator.featureRecords();
            assertThat(written).extracting(TestRecord::key).containsExactly("a", "r", "e", "b");
            assertThat(written).allSatisfy(r -> {
                assertThat(r.value().getSampleId()).isEqualTo(r.key());
                assertThat(r.value().getModelId()).isEqualTo(Given.MODEL);
                assertThat(r.value().getSourcePartition()).isZero();
            });
            assertThat(written).extracting(r -> r.value().getSourceOffset()).containsExactly(0L, 1L, 2L, 3L);
            assertThat(written.get(0).value().getFeatures().getData())
                    .isEqualTo(sample("a", 1).getFeatures().getData());
            // batches name the sample and where it came from, and carry no features
            List<TrainBatch> batches = curator.batches();
            assertThat(batches).isNotEmpty();
            TrainItem item = batches.get(0).getItems().get(0);
            assertThat(item.getSampleId()).isEqualTo("a");
            assertThat(item.getFeatures()).isNull();
            assertThat(item.getSourceOffset()).isZero();
        }
    }

    @Test
    void shouldTombstoneEverySampleItLetsGoAfterTheLastBatchThatNamesIt() {
        // Given a long-term buffer of two, recalled at every step: a sample handed over at its fresh visit often evicts
        // one recalled in the same batch
        CuratorSettings small = Given.settings().optLongTermCapacity(2).optShortTermCapacity(2)
                .optIntervals(1, 1, 1);
        try (InProcessCurator curator = new InProcessCurator(small)) {
            List<TestRecord<String, SampleFeatures>> written = new ArrayList<>();
            List<TrainBatch> batches = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                curator.sample(sample("s" + i, i % 10));
                curator.advance(Duration.ofMillis(10));
                written.addAll(curator.featureRecords());
                batches.addAll(curator.batches());
            }

            // Then every sample's features are written once, and most are tombstoned
            Map<String, Long> releasedAfter = new HashMap<>();
            Map<String, Integer> values = new HashMap<>();
            for (TestRecord<String, SampleFeatures> r : written) {
                if (r.value() == null) {
                    assertThat(values).as("a tombstone follows the value").containsKey(r.key());
                    assertThat(header(r, Topics.RELEASED_BY_SHARD_HEADER)).isEqualTo("0");
                    releasedAfter.put(r.key(), Long.parseLong(header(r, Topics.RELEASED_AFTER_HEADER)));
                } else {
                    values.merge(r.key(), 1, Integer::sum);
                }
            }
            assertThat(values).hasSize(400).allSatisfy((id, n) -> assertThat(n).isEqualTo(1));
            assertThat(releasedAfter).hasSizeGreaterThan(300);
            // and no batch after a tombstone's sequence names the sample it released
            for (TrainBatch b : batches) {
                for (TrainItem item : b.getItems()) {
                    Long after = releasedAfter.get(item.getSampleId());
                    if (after != null) {
                        assertThat(b.getSequence()).as("batch %s names %s, released after %d", b.getBatchId(),
                                item.getSampleId(), after).isLessThanOrEqualTo(after);
                    }
                }
            }
            // and every sample is either still held by the curator or tombstoned, never both
            for (int i = 0; i < 400; i++) {
                String id = "s" + i;
                assertThat(curator.entry(id) != null).as("%s held", id).isNotEqualTo(releasedAfter.containsKey(id));
            }
        }
    }

    private static String header(TestRecord<String, SampleFeatures> r, String name) {
        Header h = r.headers().lastHeader(name);
        assertThat(h).as("header %s", name).isNotNull();
        return new String(h.value(), StandardCharsets.UTF_8);
    }
}
