package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.testkit.Tool;
import io.rehearsal.cli.Main;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ItemRole;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.TrainBatch;
import io.rehearsal.schemas.avro.TrainItem;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Samples and feedback meet in the curator whichever client wrote them: samples from kcat and from
 * Python's confluent-kafka at their default partitioner (CRC32 of the key, where the Java client uses
 * murmur2, so most sample ids land on another partition than Java feedback for them), corrections from
 * {@code rehearsal feedback}, {@code POST /feedback} and kcat. Every correction is applied and trained
 * promptly (the quiet stream has no fresh sample to carry it; the curator recalls corrections at once,
 * {@code --recall-corrections}, so that reaching the trainer is what shows a correction arrived); none waits or
 * expires.
 */
@ExtendWith(KafkaBrokerExtension.class)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ForeignClientsFeedbackIT {
    private static final String MODEL = CorrectableProblem.MODEL;
    private static final int PARTITIONS = 3;
    private static final int DIMS = CorrectableProblem.DIMS;
    private static final Duration WAIT = Duration.ofSeconds(90);
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    @RequiresTool({Tool.KCAT, Tool.PYTHON_AVRO, Tool.PYTHON_CONFLUENT_KAFKA})
    void shouldApplyEveryCorrectionWhicheverClientWroteTheSampleOrTheFeedback(KafkaCluster kafka, @TempDir Path dir)
            throws Exception {
        Topics topics = kafka.newTopics(PARTITIONS);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        CuratorSettings settings = CuratorSettings.defaults().optModelIds(MODEL).optContract(ModelContract.flat(DIMS, 10))
                .optInputPartitions(PARTITIONS).optBatchSize(8).optViews(2).optFreshShare(0.5).optLongTermCapacity(60)
                .optLinger(Duration.ofMillis(300)).optEvalEverySteps(0).optSeed(3).optRecallCorrections(true);
        Map<String, Object> props = new HashMap<>(kafka.clientProperties());
        props.put("state.dir", Files.createDirectories(dir.resolve("state")).toString());
        int port = PredictorCommandIT.freePort();
        String api = "http://127.0.0.1:" + port;
        TestRecords.produce(kafka, topics.modelUpdates(), Map.of(MODEL, PredictorCommandIT.snapshot(1, Optional.empty())));
        Path predictorLog = dir.resolve("predictor.log");
        Process predictor = startPredictor(kafka, topics, port, predictorLog);
        try (CuratorApp curator = new CuratorApp(settings, topics, props, registry)) {
            curator.startAndAwaitRunning(Duration.ofSeconds(60));

            // Given 12 samples produced by kcat (JSON) and 12 by Python confluent-kafka (Avro), each at its default partitioner
            List<String> kcatIds = IntStream.range(0, 12).mapToObj(i -> "kcat-" + i).toList();
            Path samples = dir.resolve("samples.txt");
            Files.write(samples, kcatIds.stream().map(id -> id + "\t" + sampleJson(id)).toList());
            Tools.run(List.of("kcat", "-b", kafka.bootstrapServers(), "-t", topics.samples().name(), "-P", "-K", "\t",
                    "-l", samples.toString()));
            Tools.run(List.of(Tools.python(), Tools.repo().resolve("examples/python/produce_samples.py").toString(),
                    "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--count", "12",
                    "--size", Integer.toString(DIMS), "--id-prefix", "py", "--model-id", MODEL));
            List<String> pyIds = IntStream.range(0, 12).mapToObj(i -> "py-" + i).toList();
            // (most of them on another partition than the Java client would choose: that is what this test is about)
            List<ConsumerRecord<String, Sample>> written = TestRecords.consume(kafka, topics.samples(), 24, WAIT);
            long foreign = written.stream().filter(r -> r.partition() != javaPartition(r.key())).count();
            assertThat(foreign).as("samples off their Java partition").isGreaterThanOrEqualTo(8);
            // and all 24 trained once as fresh samples
            Map<String, List<TrainItem>> items = new HashMap<>();
            awaitItems(kafka, topics, items, m -> m.values().stream().flatMap(List::stream)
                    .filter(i -> i.getRole() == ItemRole.FRESH).map(TrainItem::getSampleId).collect(Collectors.toSet()).size() == 24);

            // When 12 of them are corrected: 4 with `rehearsal feedback`, 4 with POST /feedback, 4 with kcat
            List<String> byCli = List.of(kcatIds.get(0), kcatIds.get(1), pyIds.get(0), pyIds.get(1));
            List<String> byHttp = List.of(kcatIds.get(2), kcatIds.get(3), pyIds.get(2), pyIds.get(3));
            List<String> byKcat = List.of(kcatIds.get(4), kcatIds.get(5), pyIds.get(4), pyIds.get(5));
            for (String id : byCli) {
                StringWriter out = new StringWriter();
                CommandLine cli = Main.commandLine();
                cli.setOut(new PrintWriter(out));
                cli.setErr(new PrintWriter(out));
                int code = cli.execute("feedback", "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix",
                        topics.prefix(), "--sample", id, "--kind", "LABEL", "--label", "2", "--model-id", MODEL);
                assertThat(code).as(out.toString()).isZero();
            }
            awaitReady(predictor, api, predictorLog);
            for (String id : byHttp) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api + "/feedback"))
                        .POST(HttpRequest.BodyPublishers.ofString(feedbackJson(id))).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            }
            Path feedback = dir.resolve("feedback.txt");
            Files.write(feedback, byKcat.stream().map(id -> id + "\t" + feedbackJson(id)).toList());
            Tools.run(List.of("kcat", "-b", kafka.bootstrapServers(), "-t", topics.feedback().name(), "-P", "-K", "\t",
                    "-l", feedback.toString()));

            // Then every corrected sample is trained again with its new label, without any new sample to carry it
            Set<String> corrected = new HashSet<>(byCli);
            corrected.addAll(byHttp);
            corrected.addAll(byKcat);
            awaitItems(kafka, topics, items, m -> corrected.stream().allMatch(id ->
                    m.getOrDefault(id, List.of()).stream().anyMatch(i -> i.getLabelVersion() == 1 && i.getLabel() == 2)));
            // and the metrics agree: 12 applied, none waited for its sample, none expired, none refused
            assertThat(counter(registry, "rehearsal.curator.feedback", "outcome", "applied", "kind", "label")).isEqualTo(12);
            assertThat(counter(registry, "rehearsal.curator.feedback", "outcome", "pending", "kind", "label")).isZero();
            assertThat(counter(registry, "rehearsal.curator.feedback", "outcome", "expired", "kind", "label")).isZero();
            assertThat(registry.get("rehearsal.curator.dead.letters").counters()).allSatisfy(c -> assertThat(c.count())
                    .as("dead letters %s", c.getId().getTag("reason")).isZero());
            // and records that arrived off their shard went round through the reroute topic
            assertThat(counter(registry, "rehearsal.curator.rerouted", "input", "samples")).isEqualTo(foreign);
            assertThat(counter(registry, "rehearsal.curator.rerouted", "input", "feedback")).isPositive();
        } finally {
            predictor.destroy();
            predictor.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static int javaPartition(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % PARTITIONS;
    }

    private static String sampleJson(String id) {
        String features = IntStream.range(0, DIMS).mapToObj(d -> d == id.length() % DIMS ? "3.0" : "0.1")
                .collect(Collectors.joining(","));
        return "{\"id\":\"" + id + "\",\"modelId\":\"" + MODEL + "\",\"features\":{\"shape\":[" + DIMS + "],\"float32\":["
                + features + "]},\"label\":" + (id.length() % 3) + ",\"source\":\"kcat\"}";
    }

    private static String feedbackJson(String id) {
        return "{\"sampleId\":\"" + id + "\",\"modelId\":\"" + MODEL + "\",\"kind\":\"LABEL\",\"label\":2,\"annotator\":\"ana\","
                + "\"eventTime\":" + Instant.now().toEpochMilli() + "}";
    }

    private static double counter(SimpleMeterRegistry registry, String name, String... tags) {
        return registry.get(name).tags(tags).counter().count();
    }

    /** Reads the batch topic into {@code items} (by sample id) until {@code done} holds. */
    private static void awaitItems(KafkaCluster kafka, Topics topics, Map<String, List<TrainItem>> items,
                                   java.util.function.Predicate<Map<String, List<TrainItem>>> done) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!done.test(items)) {
            assertThat(System.nanoTime()).as("batches so far: %s", items.keySet()).isLessThan(deadline);
            items.clear();
            for (ConsumerRecord<String, TrainBatch> r : TestRecords.consumeToEnd(kafka, topics.trainBatches(), Duration.ofSeconds(60))) {
                for (TrainItem i : r.value().getItems()) {
                    items.computeIfAbsent(i.getSampleId(), k -> new ArrayList<>()).add(i);
                }
            }
        }
    }

    private static Process startPredictor(KafkaCluster kafka, Topics topics, int port, Path log) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Xmx384m", "-Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.rehearsal.schemas.avro",
                "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "predictor",
                "--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix", topics.prefix(), "--model-id", MODEL,
                "--metrics-host", "127.0.0.1", "--metrics-port", Integer.toString(port), "--follow", "latest")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private void awaitReady(Process predictor, String api, Path log) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (status(api + "/ready") != 200) {
            assertThat(predictor.waitFor(200, TimeUnit.MILLISECONDS)).as("the predictor exited:\n%s", Files.readString(log)).isFalse();
            assertThat(System.nanoTime()).as("ready within %s:\n%s", WAIT, Files.readString(log)).isLessThan(deadline);
        }
    }

    private int status(String url) {
        try {
            return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString()).statusCode();
        } catch (Exception e) {
            return -1; // not listening yet
        }
    }
}
