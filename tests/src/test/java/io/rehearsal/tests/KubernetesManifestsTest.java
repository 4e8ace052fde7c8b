package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.rehearsal.testkit.RequiresTool;
import io.rehearsal.testkit.Tool;
import io.rehearsal.schemas.Replication;
import io.rehearsal.schemas.Topic;
import io.rehearsal.schemas.Topics;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The Kubernetes overlays render with plain {@code kubectl kustomize}, and what they render agrees with
 * the code: topics with {@link Topics}, users' ACLs with what each component reads and writes, probes,
 * resources and the metrics port with what the processes serve, and the PrometheusRule and dashboard
 * with their single sources under {@code ops/}.
 */
@RequiresTool(Tool.KUBECTL)
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class KubernetesManifestsTest {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, List<JsonNode>> RENDERED = new ConcurrentHashMap<>();
    private static final String IMAGE = "ghcr.io/rehearsal/rehearsal";
    private static final String METRICS = "metrics";
    private static final Topics TOPICS = Topics.defaults();

    /** What each component may read and write: the contract its KafkaUser's ACLs must implement exactly. */
    private record Access(Set<String> reads, Set<String> writes) {
        static Access of(List<Topic<?, ?>> reads, List<Topic<?, ?>> writes) {
            return new Access(names(reads), names(writes));
        }

        private static Set<String> names(List<Topic<?, ?>> topics) {
            return topics.stream().map(Topic::name).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static final Map<String, Access> ACCESS = Map.of(
            "curator", Access.of(
                    // it reads back what it rerouted to the shard of each record's sample id
                    List.of(TOPICS.samples(), TOPICS.feedback(), TOPICS.reroute()),
                    List.of(TOPICS.trainBatches(), TOPICS.deadLetters(), TOPICS.reroute(), TOPICS.features())),
            "trainer", Access.of(
                    // it reads its own snapshots back to resume after a restart
                    List.of(TOPICS.trainBatches(), TOPICS.modelUpdates(), TOPICS.modelChunks(), TOPICS.features()),
                    List.of(TOPICS.modelUpdates(), TOPICS.modelChunks(), TOPICS.deadLetters())),
            "predictor", Access.of(
                    // it serves what the promoter promoted (or, told so, the latest snapshot), and sends the
                    // commands of callers with the operate role
                    List.of(TOPICS.samples(), TOPICS.modelUpdates(), TOPICS.modelChunks(), TOPICS.promotions(),
                            TOPICS.releases()),
                    List.of(TOPICS.predictions(), TOPICS.feedback(), TOPICS.deadLetters(), TOPICS.commands())),
            "promoter", Access.of(
                    // candidates, the held-out samples in the batches, commands; its own records to resume
                    List.of(TOPICS.modelUpdates(), TOPICS.modelChunks(), TOPICS.trainBatches(), TOPICS.commands(),
                            TOPICS.promotions(), TOPICS.releases()),
                    List.of(TOPICS.promotions(), TOPICS.releases())),
            "operator", Access.of(
                    // a person's rehearsal model and rehearsal status
                    List.of(TOPICS.promotions(), TOPICS.modelUpdates(), TOPICS.deadLetters()),
                    List.of(TOPICS.commands())));
    /** Components that run as a workload (the operator is a person). */
    private static final List<String> WORKLOADS = List.of("curator", "trainer", "predictor", "promoter");

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldDeclareExactlyTheTopicsOfTheRegistry(String overlay) {
        // Given the rendered KafkaTopics
        Map<String, JsonNode> declared = new TreeMap<>();
        kind(overlay, "KafkaTopic").forEach(t -> declared.put(topicName(t), t));

        // Then they are the registry's topics, no more and no fewer, with its partitions and configs
        assertThat(declared.keySet()).as("KafkaTopics of overlay %s", overlay)
                .containsExactlyInAnyOrderElementsOf(TOPICS.all().stream().map(Topic::name).toList());
        // and the replication TopicAdmin gives a cluster of the overlay's size (dev: one broker, else three)
        Replication replication = Replication.forBrokers(overlay.equals("dev") ? 1 : 3);
        for (Topic<?, ?> topic : TOPICS.all()) {
            JsonNode spec = declared.get(topic.name()).path("spec");
            assertThat(spec.path("partitions").asInt()).as("partitions of %s", topic.name()).isEqualTo(topic.partitions());
            assertThat(spec.path("replicas").asInt()).as("replicas of %s", topic.name()).isEqualTo(replication.factor());
            Map<String, String> config = new TreeMap<>();
            spec.path("config").fields().forEachRemaining(e -> config.put(e.getKey(), e.getValue().asText()));
            Map<String, String> expected = new TreeMap<>(topic.configs());
            expected.put(Replication.MIN_INSYNC_REPLICAS, Integer.toString(replication.minInSyncReplicas()));
            assertThat(config).as("config of %s", topic.name()).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldRunKafkaInKraftModeWithTlsScramAndAcls(String overlay) {
        JsonNode kafka = only(overlay, "Kafka");
        String cluster = kafka.path("metadata").path("name").asText();

        // every Strimzi resource belongs to this cluster (the operators ignore the others), in the v1 API
        // (the only one from Strimzi 1.0 on)
        Stream.of("KafkaNodePool", "KafkaTopic", "KafkaUser").flatMap(k -> kind(overlay, k).stream()).forEach(r ->
                assertThat(r.path("metadata").path("labels").path("strimzi.io/cluster").asText())
                        .as("strimzi.io/cluster label of %s", name(r)).isEqualTo(cluster));
        Stream.of("Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser").flatMap(k -> kind(overlay, k).stream()).forEach(r ->
                assertThat(r.path("apiVersion").asText()).as("apiVersion of %s", name(r)).isEqualTo("kafka.strimzi.io/v1"));

        JsonNode pool = only(overlay, "KafkaNodePool");
        assertThat(texts(pool.path("spec").path("roles"))).containsExactlyInAnyOrder("controller", "broker");
        JsonNode volume = pool.path("spec").path("storage").path("volumes").path(0);
        if (overlay.equals("dev")) {
            assertThat(pool.path("spec").path("replicas").asInt()).isEqualTo(1);
            assertThat(volume.path("type").asText()).isEqualTo("ephemeral");
        } else {
            assertThat(pool.path("spec").path("replicas").asInt()).isEqualTo(3);
            assertThat(volume.path("type").asText()).isEqualTo("persistent-claim");
        }

        JsonNode listeners = kafka.path("spec").path("kafka").path("listeners");
        assertThat(listeners).isNotEmpty().allSatisfy(l -> {
            assertThat(l.path("tls").asBoolean()).as("listener %s uses TLS", l.path("name").asText()).isTrue();
            assertThat(l.path("authentication").path("type").asText()).isEqualTo("scram-sha-512");
        });
        assertThat(kafka.path("spec").path("kafka").path("authorization").path("type").asText()).isEqualTo("simple");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldLimitEachUserToItsOwnTopics(String overlay) {
        assertThat(kind(overlay, "KafkaUser")).extracting(KubernetesManifestsTest::name)
                .containsExactlyInAnyOrder("rehearsal-curator", "rehearsal-trainer", "rehearsal-predictor",
                        "rehearsal-promoter", "rehearsal-operator");
        ACCESS.forEach((component, access) -> {
            JsonNode user = named(overlay, "KafkaUser", "rehearsal-" + component);
            assertThat(user.path("spec").path("authentication").path("type").asText()).isEqualTo("scram-sha-512");
            String own = "rehearsal-" + component;
            Set<String> named = new TreeSet<>();
            Set<String> reads = new TreeSet<>();
            Set<String> writes = new TreeSet<>();
            for (JsonNode acl : user.path("spec").path("authorization").path("acls")) {
                JsonNode resource = acl.path("resource");
                String type = resource.path("type").asText();
                String name = resource.path("name").asText();
                List<String> ops = texts(acl.path("operations"));
                assertThat(ops).as("%s: operations on %s %s", own, type, name).doesNotContain("All");
                if (type.equals("cluster")) {
                    assertThat(ops).as("%s: cluster operations", own).containsOnly("IdempotentWrite");
                } else if (!resource.path("patternType").asText().equals("literal")) {
                    // prefixes only ever cover the component's own groups, transactional ids and internal topics,
                    // but for the operator's view of the lag: describing, nothing more, rehearsal's groups and topics
                    if (component.equals("operator") && ops.equals(List.of("Describe"))) {
                        assertThat(name).as("%s: %s prefix", own, type).isIn("rehearsal-", "rehearsal.");
                    } else {
                        assertThat(name).as("%s: %s prefix", own, type).startsWith(own);
                    }
                } else {
                    assertThat(type).as("%s: literal ACL on %s", own, name).isEqualTo("topic");
                    assertThat(ops).as("%s: operations on %s", own, name)
                            .doesNotContain("Create", "Delete", "Alter", "AlterConfigs");
                    named.add(name);
                    if (ops.contains("Read")) {
                        reads.add(name);
                    }
                    if (ops.contains("Write")) {
                        writes.add(name);
                    }
                }
            }
            Set<String> its = new TreeSet<>(access.reads());
            its.addAll(access.writes());
            assertThat(named).as("topics named in %s's ACLs", own).isSubsetOf(its);
            assertThat(reads).as("topics %s reads", own).isEqualTo(access.reads());
            assertThat(writes).as("topics %s writes", own).isEqualTo(access.writes());
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldProbeLimitAndExposeMetricsInEveryContainer(String overlay) {
        assertThat(workloads(overlay)).extracting(KubernetesManifestsTest::component)
                .containsExactlyInAnyOrderElementsOf(WORKLOADS);
        for (JsonNode workload : workloads(overlay)) {
            JsonNode pod = workload.path("spec").path("template").path("spec");
            assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).as("%s runs as non-root", name(workload)).isTrue();
            assertThat(pod.path("containers")).isNotEmpty().allSatisfy(c -> {
                String what = name(workload) + "/" + c.path("name").asText();
                assertThat(c.path("ports")).as("%s ports", what).anySatisfy(p -> {
                    assertThat(p.path("name").asText()).isEqualTo(METRICS);
                    assertThat(p.path("containerPort").asInt()).isEqualTo(9400);
                });
                assertThat(c.path("livenessProbe").path("httpGet").path("path").asText()).as("%s liveness", what).isEqualTo("/health");
                assertThat(c.path("livenessProbe").path("httpGet").path("port").asText()).as("%s liveness port", what).isEqualTo(METRICS);
                assertThat(c.path("readinessProbe").path("httpGet").path("path").asText()).as("%s readiness", what).isEqualTo("/ready");
                assertThat(c.path("readinessProbe").path("httpGet").path("port").asText()).as("%s readiness port", what).isEqualTo(METRICS);
                for (String bound : List.of("requests", "limits")) {
                    assertThat(c.path("resources").path(bound).has("cpu")).as("%s cpu %s", what, bound).isTrue();
                    assertThat(c.path("resources").path(bound).has("memory")).as("%s memory %s", what, bound).isTrue();
                }
                assertThat(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).as("%s read-only root", what).isTrue();
                assertThat(mountPaths(c)).as("%s writable /tmp", what).contains("/tmp");
            });
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldScaleTheCuratorByPartitionsAndThePredictorOnCpu(String overlay) {
        JsonNode curator = workload(overlay, "curator");
        assertThat(curator.path("spec").path("replicas").asInt())
                .as("curator replicas (one per input partition at most)")
                .isBetween(1, TOPICS.samples().partitions());
        assertThat(container(curator).path("args").toString()).contains("--standby-replicas=1");
        if (!overlay.equals("dev")) {
            assertThat(curator.path("spec").path("replicas").asInt()).as("curator replicas outside dev").isEqualTo(3);
        }

        JsonNode hpa = only(overlay, "HorizontalPodAutoscaler");
        assertThat(hpa.path("spec").path("scaleTargetRef").path("name").asText()).isEqualTo(name(workload(overlay, "predictor")));
        assertThat(hpa.path("spec").path("metrics")).anySatisfy(m ->
                assertThat(m.path("resource").path("name").asText()).isEqualTo("cpu"));
        assertThat(workload(overlay, "predictor").path("spec").has("replicas"))
                .as("the predictor's replicas belong to its HorizontalPodAutoscaler").isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldRunOneActiveTrainerOfAModelAndAStandbyOutsideDev(String overlay) {
        JsonNode trainer = workload(overlay, "trainer");
        assertThat(trainer.path("kind").asText()).isEqualTo("Deployment");
        // every replica takes part in the lease: one trains, the others wait warm
        assertThat(trainer.path("spec").path("replicas").asInt()).isEqualTo(overlay.equals("dev") ? 1 : 2);
        assertThat(container(trainer).path("args").toString()).contains("--standby");
        assertThat(trainer.path("spec").path("strategy").path("type").asText()).isEqualTo("Recreate");
        assertThat(container(trainer).path("args").toString()).contains("--model-id=$(MODEL_ID)");
        assertThat(env(container(trainer))).containsKey("MODEL_ID");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldServeTheTrainersModelInThePredictor(String overlay) {
        for (String component : List.of("predictor", "promoter")) {
            JsonNode c = container(workload(overlay, component));
            assertThat(c.path("args").toString()).contains("--model-id=$(MODEL_ID)");
            assertThat(env(c).get("MODEL_ID").path("value").asText()).as("the %s's model", component)
                    .isEqualTo(env(container(workload(overlay, "trainer"))).get("MODEL_ID").path("value").asText());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldNeverRunTwoPromotersOfAModel(String overlay) {
        JsonNode promoter = workload(overlay, "promoter");
        assertThat(promoter.path("kind").asText()).isEqualTo("Deployment");
        assertThat(promoter.path("spec").path("replicas").asInt()).isEqualTo(1);
        assertThat(promoter.path("spec").path("strategy").path("type").asText()).isEqualTo("Recreate");
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldServeThePredictorsApiOverTlsToTokenHoldersOnly(String overlay) {
        JsonNode w = workload(overlay, "predictor");
        JsonNode c = container(w);
        // it serves the promoted version, over HTTPS, to callers with a token
        assertThat(argValue(c, "--follow")).isEqualTo("promoted");
        for (String[] secret : new String[][] {{"--tls-keystore", "rehearsal-predictor-tls"},
                {"--tls-keystore-password-file", "rehearsal-predictor-tls-password"}, {"--api-tokens-file", "rehearsal-api-tokens"}}) {
            Path file = Path.of(argValue(c, secret[0]));
            JsonNode volume = volumeMountedAt(w, file.getParent().toString()).path("secret");
            assertThat(volume.path("secretName").asText()).as("%s", secret[0]).isEqualTo(secret[1]);
            assertThat(volume.path("optional").asBoolean(false)).as("%s is not optional", secret[0]).isFalse();
            assertThat(texts(volume.path("items"), "path")).contains(file.getFileName().toString());
        }
        // the key store comes from cert-manager, as a PKCS12 key store in that very Secret
        JsonNode certificate = named(overlay, "Certificate", "rehearsal-predictor-tls");
        assertThat(certificate.path("spec").path("secretName").asText()).isEqualTo("rehearsal-predictor-tls");
        assertThat(certificate.path("spec").path("keystores").path("pkcs12").path("create").asBoolean()).isTrue();
        // and every probe and the scrape speak HTTPS
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            assertThat(c.path(probe).path("httpGet").path("scheme").asText()).as("%s scheme", probe).isEqualTo("HTTPS");
        }
        JsonNode monitor = named(overlay, "PodMonitor", "rehearsal-predictor");
        assertThat(monitor.path("spec").path("podMetricsEndpoints").get(0).path("scheme").asText()).isEqualTo("https");
    }

    @Test
    void shouldPutTheTrainerOnAGpuOnlyInTheGpuOverlay() {
        JsonNode gpu = workload("gpu", "trainer");
        JsonNode c = container(gpu);
        assertThat(c.path("resources").path("limits").path("nvidia.com/gpu").asInt()).isEqualTo(1);
        JsonNode pod = gpu.path("spec").path("template").path("spec");
        assertThat(pod.path("nodeSelector").size() + pod.path("tolerations").size()).as("GPU node selection").isPositive();
        assertThat(c.path("image").asText()).endsWith("-cuda");

        for (String overlay : List.of("dev", "gpu")) {
            workloads(overlay).stream().filter(w -> !(overlay.equals("gpu") && component(w).equals("trainer")))
                    .forEach(w -> assertThat(w.toString()).as("%s in %s", name(w), overlay).doesNotContain("nvidia.com/gpu"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldRunTheImageOfThisVersion(String overlay) {
        String version = System.getProperty("rehearsal.version");
        assertThat(version).as("system property rehearsal.version, which Maven sets (tests/pom.xml)").isNotNull();
        for (JsonNode w : workloads(overlay)) {
            String expected = IMAGE + ":" + version + (overlay.equals("gpu") && component(w).equals("trainer") ? "-cuda" : "");
            assertThat(container(w).path("image").asText()).as("image of %s in %s", name(w), overlay).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldConnectEachComponentAsItsOwnUserOverTls(String overlay) throws IOException {
        String cluster = name(only(overlay, "Kafka"));
        for (JsonNode w : workloads(overlay)) {
            JsonNode c = container(w);
            String what = name(w);

            // credentials: the Strimzi-generated Secret of the component's own KafkaUser
            JsonNode jaas = env(c).get("REHEARSAL_KAFKA_SASL_JAAS_CONFIG");
            assertThat(jaas).as("%s REHEARSAL_KAFKA_SASL_JAAS_CONFIG", what).isNotNull();
            assertThat(jaas.path("valueFrom").path("secretKeyRef").path("name").asText()).isEqualTo("rehearsal-" + component(w));
            assertThat(jaas.path("valueFrom").path("secretKeyRef").path("key").asText()).isEqualTo("sasl.jaas.config");

            // client properties: the --kafka-config file is a key of a mounted ConfigMap
            Path file = Path.of(argValue(c, "--kafka-config"));
            JsonNode volume = volumeMountedAt(w, file.getParent().toString());
            JsonNode configMap = named(overlay, "ConfigMap", volume.path("configMap").path("name").asText());
            Properties props = new Properties();
            props.load(new StringReader(configMap.path("data").path(file.getFileName().toString()).asText()));
            assertThat(props).as("%s client properties", what)
                    .containsEntry("security.protocol", "SASL_SSL")
                    .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                    .containsEntry("bootstrap.servers", cluster + "-kafka-bootstrap:9093");

            // the truststore: the cluster CA certificate, mounted from Strimzi's Secret
            Path truststore = Path.of(props.getProperty("ssl.truststore.location"));
            JsonNode ca = volumeMountedAt(w, truststore.getParent().toString());
            assertThat(ca.path("secret").path("secretName").asText()).isEqualTo(cluster + "-cluster-ca-cert");
            assertThat(texts(ca.path("secret").path("items"), "path")).contains(truststore.getFileName().toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldSignAndVerifySnapshotsWithAMountedKey(String overlay) {
        for (String component : List.of("trainer", "predictor", "promoter")) {
            JsonNode w = workload(overlay, component);
            Path key = Path.of(argValue(container(w), "--snapshot-key-file"));
            JsonNode secret = volumeMountedAt(w, key.getParent().toString()).path("secret");
            assertThat(secret.path("secretName").asText()).as("%s signing key", component).isEqualTo("rehearsal-snapshot-key");
            assertThat(secret.path("optional").asBoolean(false)).as("signing is not optional").isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldScrapeAndServeEveryComponent(String overlay) {
        for (JsonNode w : workloads(overlay)) {
            Map<String, String> podLabels = labels(w.path("spec").path("template").path("metadata"));
            assertThat(kind(overlay, "PodMonitor")).as("PodMonitor of %s", name(w)).anySatisfy(m -> {
                assertThat(podLabels).containsAllEntriesOf(strings(m.path("spec").path("selector").path("matchLabels")));
                assertThat(texts(m.path("spec").path("podMetricsEndpoints"), "port")).contains(METRICS);
            });
            assertThat(kind(overlay, "Service")).as("Service of %s", name(w)).anySatisfy(s -> {
                assertThat(podLabels).containsAllEntriesOf(strings(s.path("spec").path("selector")));
                assertThat(texts(s.path("spec").path("ports"), "targetPort")).contains(METRICS);
            });
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldGenerateThePrometheusRuleFromOpsRules(String overlay) throws IOException {
        JsonNode rules = YAML.readTree(Tools.repo().resolve("ops/prometheus/rules.yml").toFile());
        JsonNode rule = only(overlay, "PrometheusRule");
        assertThat(rule.path("spec").path("groups"))
                .as("PrometheusRule groups differ from ops/prometheus/rules.yml: run k8s/sync-rules.sh")
                .isEqualTo(rules.path("groups"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"dev", "gpu"})
    void shouldShipTheDashboardFromOpsGrafana(String overlay) throws IOException {
        JsonNode dashboard = JSON.readTree(Tools.repo().resolve("ops/grafana/rehearsal.json").toFile());
        JsonNode configMap = kind(overlay, "ConfigMap").stream()
                .filter(c -> c.path("metadata").path("labels").path("grafana_dashboard").asText().equals("1"))
                .findFirst().orElseThrow(() -> new AssertionError("no ConfigMap labelled grafana_dashboard=1"));
        assertThat(JSON.readTree(configMap.path("data").path("rehearsal.json").asText())).isEqualTo(dashboard);
    }

    // ---- rendering and navigation

    private static List<JsonNode> render(String overlay) {
        return RENDERED.computeIfAbsent(overlay, o -> {
            Path dir = Tools.repo().resolve("k8s/overlays").resolve(o);
            assertThat(Files.isDirectory(dir)).as("overlay %s", dir).isTrue();
            try {
                String yaml = Tools.run(List.of("kubectl", "kustomize", dir.toString()));
                List<JsonNode> docs = new ArrayList<>();
                YAML.readerFor(JsonNode.class).<JsonNode>readValues(yaml).forEachRemaining(d -> {
                    if (d != null && !d.isEmpty()) {
                        docs.add(d);
                    }
                });
                return List.copyOf(docs);
            } catch (IOException e) {
                throw new IllegalStateException("cannot render " + dir + ": " + e.getMessage(), e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        });
    }

    private static List<JsonNode> kind(String overlay, String kind) {
        return render(overlay).stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
    }

    private static JsonNode only(String overlay, String kind) {
        List<JsonNode> found = kind(overlay, kind);
        assertThat(found).as("%s objects in overlay %s", kind, overlay).hasSize(1);
        return found.get(0);
    }

    private static JsonNode named(String overlay, String kind, String name) {
        return kind(overlay, kind).stream().filter(d -> name(d).equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("overlay " + overlay + " has no " + kind + " " + name));
    }

    /** Deployments and StatefulSets, each a rehearsal component. */
    private static List<JsonNode> workloads(String overlay) {
        return Stream.concat(kind(overlay, "Deployment").stream(), kind(overlay, "StatefulSet").stream()).toList();
    }

    private static JsonNode workload(String overlay, String component) {
        return workloads(overlay).stream().filter(w -> component(w).equals(component)).findFirst()
                .orElseThrow(() -> new AssertionError("overlay " + overlay + " runs no " + component));
    }

    private static String component(JsonNode workload) {
        return workload.path("spec").path("template").path("metadata").path("labels").path("app.kubernetes.io/component").asText();
    }

    private static JsonNode container(JsonNode workload) {
        JsonNode containers = workload.path("spec").path("template").path("spec").path("containers");
        assertThat(containers).as("containers of %s", name(workload)).hasSize(1);
        return containers.get(0);
    }

    private static String name(JsonNode object) {
        return object.path("metadata").path("name").asText();
    }

    private static String topicName(JsonNode kafkaTopic) {
        String topicName = kafkaTopic.path("spec").path("topicName").asText();
        return topicName.isEmpty() ? name(kafkaTopic) : topicName;
    }

    private static Map<String, JsonNode> env(JsonNode container) {
        Map<String, JsonNode> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
        return env;
    }

    /** The value of {@code --flag=value} in the container's args. */
    private static String argValue(JsonNode container, String flag) {
        return texts(container.path("args")).stream().filter(a -> a.startsWith(flag + "=")).findFirst()
                .map(a -> a.substring(flag.length() + 1))
                .orElseThrow(() -> new AssertionError(container.path("name").asText() + " has no " + flag + "=..."));
    }

    private static Set<String> mountPaths(JsonNode container) {
        return StreamSupport.stream(container.path("volumeMounts").spliterator(), false)
                .map(m -> m.path("mountPath").asText()).collect(Collectors.toSet());
    }

    /** The pod volume mounted at {@code path} in the workload's container. */
    private static JsonNode volumeMountedAt(JsonNode workload, String path) {
        String volume = StreamSupport.stream(container(workload).path("volumeMounts").spliterator(), false)
                .filter(m -> m.path("mountPath").asText().equals(path)).map(m -> m.path("name").asText()).findFirst()
                .orElseThrow(() -> new AssertionError(name(workload) + " mounts nothing at " + path));
        return StreamSupport.stream(workload.path("spec").path("template").path("spec").path("volumes").spliterator(), false)
                .filter(v -> v.path("name").asText().equals(volume)).findFirst()
                .orElseThrow(() -> new AssertionError(name(workload) + " mounts undeclared volume " + volume));
    }

    private static Map<String, String> labels(JsonNode metadata) {
        return strings(metadata.path("labels"));
    }

    private static Map<String, String> strings(JsonNode map) {
        Map<String, String> out = new TreeMap<>();
        map.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    private static List<String> texts(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    private static List<String> texts(JsonNode array, String field) {
        return StreamSupport.stream(array.spliterator(), false).map(n -> n.path(field).asText()).toList();
    }
}
