package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.rehearsal.testkit.KafkaBrokerExtension;
import io.rehearsal.testkit.KafkaCluster;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.TestRecords;
import io.rehearsal.testkit.Tool;
import io.rehearsal.cli.ops.MetricsRegistry;
import io.rehearsal.cli.ops.OpsServer;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.promote.Promoter;
import io.rehearsal.models.promote.PromoterSettings;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.AugmentSettings;
import io.rehearsal.models.train.TrainerApp;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.FeedbackKind;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import io.rehearsal.streams.CuratorApp;
import io.rehearsal.streams.CuratorSettings;
import io.rehearsal.streams.ModelContract;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.concurrent.Callable;
import org.awaitility.core.ConditionTimeoutException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitoring of ops/ against the real thing: the curator, the trainer, the predictor and the promoter run in this
 * JVM as four processes would — each with the CLI's registry ({@code component=<name>}, JVM meters)
 * and its own {@code /metrics} on a free loopback port — on the test broker, fed a small stream with
 * tasks, held-out samples, requests and feedback. Then every metric name the alert rules and the
 * dashboard read must be in their scrapes, the rehearsal metrics must pass promtool's lint and be in
 * docs/metrics.md, and a real Prometheus started by ops/local/prometheus.sh must scrape them and
 * evaluate every rule without error.
 */
@ExtendWith(KafkaBrokerExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class MonitoringIT {
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final String MODEL = CorrectableProblem.MODEL;
    private static final Pattern SAMPLE_NAME = Pattern.compile("^([A-Za-z_:][A-Za-z0-9_:]*)");
    private static final Pattern TYPE_LINE = Pattern.compile("^# TYPE (\\S+) (\\S+)");

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Map<String, PrometheusMeterRegistry> registries = new LinkedHashMap<>();
    private final Map<String, OpsServer> servers = new LinkedHashMap<>();
    private CuratorApp curator;
    private TrainerApp trainer;
    private PredictionService predictor;
    private Promoter promoter;
    private CompletableFuture<Void> training;
    private Map<String, String> stillMissing;
    private Topics topics;
    private String bootstrap;
    private String trainerGroupPrefix;
    private String promoterGroupPrefix;

    @BeforeAll
    void startTheComponentsAndFeedThem(KafkaCluster kafka, @TempDir Path state) throws Exception {
        topics = kafka.newTopics();
        bootstrap = kafka.bootstrapServers();
        trainerGroupPrefix = "g-" + UUID.randomUUID() + "-";
        promoterGroupPrefix = "p-" + UUID.randomUUID() + "-";
        for (String component : List.of("curator", "trainer", "predictor", "promoter")) {
            registries.put(component, MetricsRegistry.create(component));
        }
        Map<String, Object> curatorProps = new HashMap<>(kafka.clientProperties());
        curatorProps.put(StreamsConfig.STATE_DIR_CONFIG, state.toString());
        curator = new CuratorApp(CuratorSettings.defaults().optBatchSize(16).optViews(4).optFreshShare(0.25)
                .optLongTermCapacity(60).optShortTermCapacity(1000).optShortTermRecalls(2).optIntervals(2, 8, 1)
                .optFillRecalls(true).optLinger(Duration.ofMillis(100))
                .optEvalEverySteps(10).optEvalCapacityPerClass(10)
                .optContract(ModelContract.flat(CorrectableProblem.DIMS, CorrectableProblem.CLASSES))
                .optModelIds(MODEL).optSeed(7),
                topics, curatorProps, registries.get("curator"));
        trainer = new TrainerApp(TrainerSettings.builder(MODEL, ModelSpec.mlp(CorrectableProblem.DIMS, CorrectableProblem.CLASSES, 16))
                .optAugment(AugmentSettings.none()).optSeed(7).optSnapshotEvery(10, Duration.ofMillis(500))
                .optTransactionalIdPrefix("tx-" + UUID.randomUUID() + "-").optGroupIdPrefix(trainerGroupPrefix)
                .optPollTimeout(Duration.ofMillis(100)).build(),
                topics, kafka.bootstrapServers(), Map.of(), registries.get("trainer"));
        predictor = new PredictionService(PredictorSettings.builder(SubscriberSettings.builder(MODEL).optFollow(Follow.LATEST)
                        .optStartTimeout(Duration.ofMillis(100)).optPollTimeout(Duration.ofMillis(100)).build())
                .optPollTimeout(Duration.ofMillis(100)).build(), topics, kafka.bootstrapServers(), Map.of(), registries.get("predictor"));
        servers.put("curator", OpsServer.start("127.0.0.1", 0, registries.get("curator"), () -> true));
        servers.put("trainer", OpsServer.start("127.0.0.1", 0, registries.get("trainer"), () -> true));
        servers.put("predictor", OpsServer.start("127.0.0.1", 0, registries.get("predictor"), predictor::ready));
        promoter = Promoter.start(PromoterSettings.builder(MODEL).optTransactionalIdPrefix(promoterGroupPrefix)
                .optPollTimeout(Duration.ofMillis(100)).build(), topics, kafka.bootstrapServers(), Map.of(), registries.get("promoter"));
        servers.put("promoter", OpsServer.start("127.0.0.1", 0, registries.get("promoter"), promoter::ready));
        new PredictionHttpApi(predictor).routes().forEach(servers.get("predictor")::route);

        curator.start();
        assertThat(curator.awaitRunning(WAIT)).as("curator running").isTrue();
        training = CompletableFuture.runAsync(trainer::run);
        predictor.start();

        // a stream of two tasks (t0: classes 0 and 1, t1: class 2) with held-out samples, requests and feedback
        CorrectableProblem problem = new CorrectableProblem(11);
        Map<String, Sample> samples = new LinkedHashMap<>();
        for (int i = 0; i < 240; i++) {
            int label = problem.randomLabel();
            // one in eight held out, among the training samples so that evaluations run while they train
            String id = (i % 8 == 0 ? "eval-" : "train-") + i;
            samples.put(id, sample(id, problem.features(label), label, i % 8 == 0 ? Split.EVAL : Split.TRAIN));
        }
        for (int i = 0; i < 3; i++) {
            samples.put("request-" + i, sample("request-" + i, problem.features(0), null, Split.TRAIN));
        }
        TestRecords.produce(kafka, topics.samples(), samples);
        TestRecords.produce(kafka, topics.feedback(), Map.of(
                "train-6", feedback("train-6", 2), "not-yet-seen", feedback("not-yet-seen", 1)));
        // and a request over HTTP, as rehearsal predictor serves it (503 until a model is served: answered all the same)
        HttpResponse<String> answer = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + servers.get("predictor").port() + "/predict"))
                .POST(HttpRequest.BodyPublishers.ofString(JsonCodec.toJson(sample("http-0", problem.features(1), null, Split.TRAIN))))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(answer.statusCode()).as(answer.body()).isIn(200, 503);
    }

    private static Sample sample(String id, float[] features, Integer label, Split split) {
        Sample s = CorrectableProblem.sample(id, features, label);
        s.setSplit(split);
        s.setTask(label == null ? null : label < 2 ? "t0" : "t1");
        return s;
    }

    private static Feedback feedback(String sampleId, int label) {
        return Feedback.newBuilder().setSampleId(sampleId).setModelId(MODEL).setKind(FeedbackKind.LABEL).setLabel(label)
                .setAnnotator("monitoring-it").setEventTime(Instant.now()).build();
    }

    @AfterAll
    void stop() throws Exception {
        servers.values().forEach(OpsServer::close);
        try {
            if (trainer != null) {
                trainer.stop();
                training.get(60, TimeUnit.SECONDS);
            }
        } finally {
            for (AutoCloseable c : new AutoCloseable[] {promoter, predictor, trainer, curator}) {
                if (c != null) {
                    c.close();
                }
            }
            registries.values().forEach(PrometheusMeterRegistry::close);
        }
    }

    // ---- the scrapes

    private String scrape(String component) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + servers.get(component).port()
                + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    /** Names of the samples in the scrapes (histograms as _bucket, _count, _sum). */
    private Set<String> scrapedNames() throws Exception {
        Set<String> names = new TreeSet<>();
        for (String component : servers.keySet()) {
            for (String line : scrape(component).split("\n")) {
                Matcher m = SAMPLE_NAME.matcher(line);
                if (!line.startsWith("#") && m.find()) {
                    names.add(m.group(1));
                }
            }
        }
        return names;
    }

    /** Every metric the rules and the dashboard read, with where it is read. */
    private static Map<String, String> namesReadByOps() {
        Map<String, String> where = new TreeMap<>();
        for (MonitoringSources.Rule rule : MonitoringSources.rules()) {
            MonitoringSources.metricNames(rule.expr()).forEach(n -> where.putIfAbsent(n, "rule " + rule.name()));
        }
        for (MonitoringSources.Query q : MonitoringSources.dashboardQueries()) {
            MonitoringSources.metricNames(q.expr()).forEach(n -> where.putIfAbsent(n, "dashboard panel " + q.panel()));
        }
        return where;
    }

    /** Names read by ops/ that are neither scraped, nor recorded by a rule, nor made by Prometheus. */
    private Map<String, String> missing() throws Exception {
        Set<String> scraped = scrapedNames();
        Set<String> recorded = MonitoringSources.recordingRuleNames();
        Map<String, String> missing = new TreeMap<>();
        namesReadByOps().forEach((name, where) -> {
            if (!scraped.contains(name) && !recorded.contains(name) && !MonitoringSources.SYNTHETIC.contains(name)) {
                missing.put(name, where);
            }
        });
        return missing;
    }

    /**
     * Waits (once for all tests) until the scrapes have every metric the rules and the dashboard read, and
     * fails naming those still missing at the deadline.
     */
    private void awaitTheMetricsReadByOps() throws Exception {
        if (stillMissing == null) {
            try {
                await().atMost(WAIT).pollInterval(Duration.ofMillis(250)).until(() -> (stillMissing = missing()).isEmpty());
            } catch (ConditionTimeoutException e) {
                // stillMissing holds what the last scrape lacked: the assertion below names it
            }
        }
        assertThat(stillMissing).as("metric read by ops/ -> where it is read; not in the scrapes of curator, trainer and "
                + "predictor within %s", WAIT).isEmpty();
    }

    @Test
    void everyMetricTheRulesAndTheDashboardReadShouldBeInARealScrape() throws Exception {
        // Given the components working through the stream (some meters appear only once there is
        // data: eval accuracy per task, recall histograms, Kafka's per-partition lag)
        // Then no rule and no panel reads a metric that does not exist
        awaitTheMetricsReadByOps();
        assertThat(namesReadByOps()).as("the rules and the dashboard read rehearsal's, Kafka's and the JVM's metrics")
                .containsKeys("rehearsal_trainer_eval_task_accuracy", "kafka_consumer_fetch_manager_records_lag",
                        "jvm_memory_used_bytes", "rehearsal_curator_recall_interval_steps_bucket");
    }

    /** The rehearsal_* lines the components serve, and each family's type. */
    private record OurMetrics(String exposition, Map<String, String> families) {
    }

    private OurMetrics scrapeOurs() throws Exception {
        awaitTheMetricsReadByOps();
        StringBuilder ours = new StringBuilder();
        Map<String, String> families = new TreeMap<>();
        for (String component : servers.keySet()) {
            for (String line : scrape(component).split("\n")) {
                if (line.startsWith("rehearsal_") || line.startsWith("# HELP rehearsal_") || line.startsWith("# TYPE rehearsal_")) {
                    ours.append(line).append('\n');
                }
                Matcher type = TYPE_LINE.matcher(line);
                if (type.find() && type.group(1).startsWith("rehearsal_")) {
                    families.put(type.group(1), type.group(2));
                }
            }
        }
        return new OurMetrics(ours.toString(), families);
    }

    @Test
    @RequiresTool(Tool.PROMTOOL)
    void everyRehearsalMetricShouldPassPromtoolsLint() throws Exception {
        String ours = scrapeOurs().exposition();
        // Then the names follow Prometheus' conventions, as promtool checks them (units, _total, help texts)
        Process lint = new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
        lint.getOutputStream().write(ours.getBytes(StandardCharsets.UTF_8));
        lint.getOutputStream().close();
        String problems = new String(lint.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(lint.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(problems.trim()).as("promtool check metrics on the rehearsal_* metrics").isEmpty();
    }

    @Test
    void everyRehearsalMetricShouldBeDocumented() throws Exception {
        Map<String, String> families = scrapeOurs().families();
        String docs = Files.readString(Tools.repo().resolve("docs/metrics.md"));
        // Then docs/metrics.md lists every family (a _max gauge goes with its timer or summary)
        assertThat(families).isNotEmpty();
        List<String> undocumented = new ArrayList<>();
        families.forEach((family, type) -> {
            String name = family.endsWith("_max") && families.containsKey(family.substring(0, family.length() - 4))
                    ? family.substring(0, family.length() - 4) : family;
            if (!Pattern.compile("`" + Pattern.quote(name) + "`").matcher(docs).find()) {
                undocumented.add(family + " (" + type + ")");
            }
        });
        assertThat(undocumented).as("metrics missing from docs/metrics.md").isEmpty();
    }

    @Test
    void rehearsalStatusShouldShowTheRunningPipelineFromItsTopicsAndMetrics() throws Exception {
        // Given the four components working through the stream, a version promoted, the curator's buffer filled
        // and the predictor serving
        await().atMost(WAIT).pollInterval(Duration.ofMillis(250)).until(() ->
                registries.get("promoter").get("rehearsal.promoter.promoted.version").gauge().value() >= 1
                        && registries.get("predictor").get("rehearsal.subscriber.model.version").gauge().value() >= 1
                        && scrape("curator").contains("rehearsal_curator_buffer_occupancy{"));
        List<String> args = new ArrayList<>(List.of("status", "--model-id", MODEL, "--bootstrap-servers", bootstrap,
                "--topic-prefix", topics.prefix(), "--trainer-group-prefix", trainerGroupPrefix,
                "--promoter-group-prefix", promoterGroupPrefix,
                "--metrics", "curator=http://127.0.0.1:" + servers.get("curator").port() + "/metrics",
                "--metrics", "predictor=http://127.0.0.1:" + servers.get("predictor").port() + "/metrics"));

        // When an operator asks for the status, as JSON
        String[] json = status(args, "--json");

        // Then it shows the model's promoted and latest versions, the last decision, every component's lag,
        // the buffer occupancy per class and the version the predictor serves
        assertThat(json[0]).as(json[1]).isEqualTo("0");
        JsonNode model = JsonCodec.mapper().readTree(json[1]).get("models").get(0);
        assertThat(model.get("modelId").asText()).isEqualTo(MODEL);
        assertThat(model.get("promotedVersion").asLong()).isPositive();
        assertThat(model.get("latestVersion").asLong()).isGreaterThanOrEqualTo(model.get("promotedVersion").asLong());
        assertThat(model.get("latestAgeSeconds").asDouble()).isNotNegative();
        assertThat(model.get("lastDecision").get("action").asText()).isIn("PROMOTED", "REFUSED");
        List<String> components = new ArrayList<>();
        model.get("lag").forEach(l -> components.add(l.get("component").asText()));
        assertThat(components).contains("curator", "trainer", "predictor", "promoter");
        for (String c : List.of("curator", "trainer", "predictor")) {
            assertThat(model.get("lag")).as("the %s's lag", c).anySatisfy(l -> {
                assertThat(l.get("component").asText()).isEqualTo(c);
                assertThat(l.get("committed").asBoolean()).isTrue();
                assertThat(l.get("lag").asLong()).isNotNegative();
            });
        }
        assertThat(model.get("bufferByClass").size()).as("buffer occupancy per class").isEqualTo(CorrectableProblem.CLASSES);
        assertThat(model.get("served").get("predictor").asLong()).isPositive();
        assertThat(JsonCodec.mapper().readTree(json[1]).get("metricsErrors").size()).isZero();

        // and the same as text, in columns
        String[] text = status(args);
        assertThat(text[0]).as(text[1]).isEqualTo("0");
        assertThat(text[1]).contains("MODEL", "PROMOTED", "LATEST", "HELD-BACK", "predictor=v", "COMPONENT", "GROUP", "LAG",
                "last decision on model " + MODEL, "buffer occupancy of model " + MODEL, "dead letters in the last hour");
    }

    /** Runs {@code rehearsal status} in this JVM: its exit code and what it printed. */
    private static String[] status(List<String> args, String... more) {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of(more));
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cli = io.rehearsal.cli.Main.commandLine();
        cli.setOut(new java.io.PrintWriter(out));
        cli.setErr(new java.io.PrintWriter(out));
        int code = cli.execute(all.toArray(String[]::new));
        return new String[] {Integer.toString(code), out.toString()};
    }

    @Test
    @RequiresTool(Tool.PROMETHEUS)
    void aRealPrometheusShouldScrapeTheComponentsAndEvaluateEveryRule(@TempDir Path dir) throws Exception {
        awaitTheMetricsReadByOps();
        // Given Prometheus on a free loopback port, started by ops/local/prometheus.sh with rehearsal's rules,
        // scraping the components every second
        int port = freePort();
        String api = "http://127.0.0.1:" + port;
        List<String> command = new ArrayList<>(List.of("bash", Tools.repo().resolve("ops/local/prometheus.sh").toString(),
                "--listen", "127.0.0.1:" + port, "--interval", "1s"));
        servers.forEach((component, server) -> command.addAll(List.of("--target", component + "=127.0.0.1:" + server.port())));
        File log = dir.resolve("prometheus.log").toFile();
        Process prometheus = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log).start();
        try {
            awaitTrue(() -> status(api + "/-/ready") == 200 || !prometheus.isAlive(), "Prometheus to be ready");
            assertThat(prometheus.isAlive()).as("Prometheus runs: %s", Files.readString(log.toPath())).isTrue();

            // When it has scraped them all
            awaitTrue(() -> query(api, "up == 1").size() == servers.size(), "Prometheus to scrape the components");

            // Then it has their series, labelled by component
            JsonNode steps = query(api, "rehearsal_trainer_steps_total");
            assertThat(steps).hasSize(1);
            assertThat(steps.get(0).path("metric").path("component").asText()).isEqualTo("trainer");
            assertThat(steps.get(0).path("metric").path("job").asText()).isEqualTo("rehearsal-trainer");
            assertThat(steps.get(0).path("value").get(1).asDouble()).isPositive();
            assertThat(query(api, "kafka_consumer_fetch_manager_records_lag{component=\"trainer\",topic=~\".+[.]train-batches\"}"))
                    .as("the trainer's lag on its batches").isNotEmpty();
            assertThat(query(api, "rehearsal_subscriber_model_version{component=\"predictor\"}")).isNotEmpty();

            // and it evaluates every rule of rules.yml without error, recording series from the real data
            awaitTrue(() -> everyRuleEvaluated(api), "every rule to be evaluated");
            JsonNode groups = getJson(api + "/api/v1/rules").path("data").path("groups");
            List<String> loaded = new ArrayList<>();
            for (JsonNode g : groups) {
                for (JsonNode r : g.path("rules")) {
                    loaded.add(r.path("name").asText());
                    assertThat(r.path("health").asText()).as("rule %s: %s", r.path("name"), r.path("lastError")).isEqualTo("ok");
                    if (r.path("type").asText().equals("alerting")) {
                        assertThat(r.path("state").asText()).isIn("inactive", "pending", "firing");
                    }
                }
            }
            assertThat(loaded).containsExactlyInAnyOrderElementsOf(MonitoringSources.rules().stream()
                    .map(MonitoringSources.Rule::name).toList());
            awaitTrue(() -> !query(api, "model_task:rehearsal_trainer_eval_task_accuracy:max").isEmpty(),
                    "a recording rule to record held-out accuracy per task");
            assertThat(query(api, "model_task:rehearsal_trainer_eval_task_accuracy:max").findValuesAsText("task"))
                    .contains("t0");

            // and every dashboard query is valid PromQL for it (Grafana's variables filled in)
            for (MonitoringSources.Query q : MonitoringSources.dashboardQueries()) {
                if (q.expr().startsWith("label_values(")) {
                    continue;
                }
                JsonNode answer = getJson(api + "/api/v1/query?query="
                        + URLEncoder.encode(MonitoringSources.withoutGrafanaVariables(q.expr()), StandardCharsets.UTF_8));
                assertThat(answer.path("status").asText()).as("panel %s: %s -> %s", q.panel(), q.expr(), answer.path("error"))
                        .isEqualTo("success");
            }
        } finally {
            stopScript(prometheus);
        }
        // and the script removed its temporary data when it stopped
        Matcher config = Pattern.compile("config (\\S+)/prometheus\\.yml").matcher(Files.readString(log.toPath()));
        assertThat(config.find()).as("the script says where its data is").isTrue();
        assertThat(Path.of(config.group(1))).doesNotExist();
    }

    private boolean everyRuleEvaluated(String api) throws Exception {
        JsonNode groups = getJson(api + "/api/v1/rules").path("data").path("groups");
        int rules = 0;
        for (JsonNode g : groups) {
            for (JsonNode r : g.path("rules")) {
                rules++;
                if (r.path("lastEvaluation").asText().startsWith("0001-")) {
                    return false;
                }
            }
        }
        return rules == MonitoringSources.rules().size();
    }

    /** SIGTERM to the script, whose trap stops Prometheus and removes its data; its children are killed if it does not. */
    private static void stopScript(Process script) throws InterruptedException {
        List<ProcessHandle> children = script.descendants().toList();
        script.destroy();
        if (!script.waitFor(30, TimeUnit.SECONDS)) {
            script.destroyForcibly();
        }
        for (ProcessHandle child : children) {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
    }

    // ---- HTTP and waiting

    private JsonNode query(String api, String promql) throws Exception {
        JsonNode answer = getJson(api + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8));
        assertThat(answer.path("status").asText()).as("%s -> %s", promql, answer.path("error")).isEqualTo("success");
        return answer.path("data").path("result");
    }

    private JsonNode getJson(String url) throws Exception {
        return MonitoringSources.JSON.readTree(get(url).body());
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The status of a GET, 0 while nothing listens. */
    private int status(String url) throws Exception {
        try {
            return get(url).statusCode();
        } catch (java.net.ConnectException e) {
            return 0;
        }
    }

    private static void awaitTrue(Callable<Boolean> condition, String what) {
        await(what).atMost(WAIT).pollInterval(Duration.ofMillis(200)).until(condition);
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
