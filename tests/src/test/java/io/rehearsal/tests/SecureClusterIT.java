package io.rehearsal.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.broker.EmbeddedKafkaBroker;
import io.rehearsal.cli.Main;
import io.rehearsal.bench.chaos.ComponentProcess;
import io.rehearsal.models.subscribe.Follow;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.TopicAdmin;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.Split;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The pipeline on a broker that only lets clients in over TLS with SCRAM-SHA-512 credentials and
 * authorizes them with the ACLs of k8s/base/kafka/users.yaml, each component its own user, configured the
 * way k8s/ configures it: a client properties file ({@code --kafka-config}, CA certificate as PEM) and the
 * JAAS line from the environment ({@code REHEARSAL_KAFKA_SASL_JAAS_CONFIG}). Samples go in, the curator
 * and the trainer (own processes) turn them into a signed snapshot, the predictor (own process) and an
 * in-process subscriber serve it; a tampered and an unsigned snapshot are refused. With a wrong password
 * every component stops at once with an authentication error, no hang.
 *
 * <p>The broker's inter-broker listener (and its controller listener) stay PLAINTEXT on loopback, as the
 * test needs no second broker; its principal (ANONYMOUS) is a super user, and the test uses it as the
 * cluster operator does (Strimzi's Topic and User Operators): to create the topics and the ACLs. Clients
 * only get the SASL_SSL listener.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class SecureClusterIT {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final String KEY = "secure-cluster-signing-key-0123456789";
    private static final Duration WAIT = Duration.ofSeconds(120);
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void shouldRunThePipelineOverSaslSslWithScramAndStopClearlyOnAWrongPassword(@TempDir Path dir) throws Exception {
        // Given a broker whose client listener is SASL_SSL with a SCRAM-SHA-512 user, and a throwaway CA
        ThrowawayTls tls = ThrowawayTls.create(dir);
        int plain = freePort();
        int secure = freePort();
        int controller = freePort();
        String listeners = "PLAINTEXT://localhost:" + plain + ",SASL_SSL://localhost:" + secure;
        try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(plain).controllerPort(controller)
                .brokerProperty("listeners", listeners + ",CONTROLLER://localhost:" + controller)
                .brokerProperty("advertised.listeners", listeners)
                .brokerProperty("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT")
                .brokerProperty("sasl.enabled.mechanisms", "SCRAM-SHA-512")
                .brokerProperty("listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                        "org.apache.kafka.common.security.scram.ScramLoginModule required;")
                .brokerProperty("listener.name.sasl_ssl.ssl.keystore.type", "PKCS12")
                .brokerProperty("listener.name.sasl_ssl.ssl.keystore.location", tls.brokerKeyStore().toString())
                .brokerProperty("listener.name.sasl_ssl.ssl.keystore.password", tls.password())
                .brokerProperty("listener.name.sasl_ssl.ssl.key.password", tls.password())
                .brokerProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
                .brokerProperty("super.users", "User:ANONYMOUS;User:admin")
                .brokerProperty("allow.everyone.if.no.acl.found", "false")
                .scramCredential(scram("admin")).scramCredential(scram("rehearsal-curator"))
                .scramCredential(scram("rehearsal-trainer")).scramCredential(scram("rehearsal-predictor"))
                .build().start()) {
            // the operator: topics as the Topic Operator creates them, ACLs as the User Operator applies users.yaml
            Topics topics = new Topics(Topics.DEFAULT_PREFIX, 1);
            List<AclBinding> acls = acls(Tools.repo().resolve("k8s/base/kafka/users.yaml"));
            try (Admin operator = Admin.create(Map.of("bootstrap.servers", broker.bootstrapServers()))) {
                new TopicAdmin(operator).ensure(topics.all());
                operator.createAcls(acls).all().get();
            }
            System.out.printf("%d ACLs from k8s/base/kafka/users.yaml applied%n", acls.size());
            String bootstrap = "localhost:" + secure;
            // the client side as k8s/base/app/kafka-client.properties has it, and the JAAS line as its Secret gives it
            Path clientFile = write(dir.resolve("kafka-client.properties"), Map.of("bootstrap.servers", bootstrap,
                    "security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512", "ssl.truststore.type", "PEM",
                    "ssl.truststore.location", tls.caCertificate().toString()));
            Path curatorFile = write(dir.resolve("curator.properties"), withJaas(clientFile, "rehearsal-curator", password("rehearsal-curator")));
            Path predictorFile = write(dir.resolve("predictor.properties"), withJaas(clientFile, "rehearsal-predictor",
                    password("rehearsal-predictor")));
            Path wrongFile = write(dir.resolve("wrong-password.properties"), withJaas(clientFile, "rehearsal-curator", "not-the-password"));
            Path keyFile = Files.writeString(dir.resolve("snapshot.key"), KEY + "\n");
            Map<String, Object> admin = properties(withJaas(clientFile, "admin", password("admin")));
            Map<String, Object> predictorClient = properties(withJaas(clientFile, "rehearsal-predictor", password("rehearsal-predictor")));

            // When samples arrive over SASL_SSL
            BadRecords data = new BadRecords(topics, 3);
            try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(admin, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (int i = 0; i < 400; i++) {
                    Sample s = BadRecords.sample("s" + i, i % BadRecords.CLASSES, data.floats(i % BadRecords.CLASSES), Split.TRAIN);
                    producer.send(new ProducerRecord<>(topics.samples().name(), topics.samples().serializeKey(s.getId()),
                            topics.samples().serializeValue(s)));
                }
                producer.flush();
            }
            // and the curator (a file with its user and password), the trainer and the predictor (the shared file +
            // their JAAS line from the environment, as in k8s/) run as their own processes, each as its own user
            List<String> common = List.of("--topic-prefix", topics.prefix(), "--partitions", "1");
            List<String> shape = List.of("--input-shape", Integer.toString(BadRecords.DIMS), "--classes",
                    Integer.toString(BadRecords.CLASSES));
            try (ComponentProcess curator = component("curator", dir, Map.of(), concat(List.of("curator", "--kafka-config",
                         curatorFile.toString(), "--model-id", BadRecords.MODEL, "--batch-size", "32", "--buffer-size", "100", "--linger", "PT1S",
                         "--state-dir", dir.resolve("state").toString()), common, shape));
                 ComponentProcess trainer = component("trainer", dir, credentials("rehearsal-trainer"), concat(List.of("trainer", "--kafka-config",
                         clientFile.toString(), "--model-id", BadRecords.MODEL, "--hidden", "32", "--snapshot-every", "PT1S",
                         "--snapshot-key-file", keyFile.toString()), common, shape));
                 ComponentProcess predictor = component("predictor", dir, credentials("rehearsal-predictor"), concat(List.of("predictor",
                         "--kafka-config", clientFile.toString(), "--model-id", BadRecords.MODEL, "--snapshot-key-file",
                         keyFile.toString(), "--follow", "latest"), common))) { // no promoter here: serve the candidates
                curator.start();
                trainer.start();
                predictor.start();

                // Then the predictor serves a signed snapshot the trainer made of those samples
                String api = "http://127.0.0.1:" + predictor.metricsPort();
                JsonNode model = await("a model served").atMost(WAIT).pollInterval(Duration.ofMillis(500))
                        .failFast(() -> {
                            for (ComponentProcess p : List.of(curator, trainer, predictor)) {
                                assertThat(p.exitCode()).as("%s exited:\n%s", p.name(), Files.readString(p.log())).isNull();
                            }
                        })
                        .until(() -> json(api + "/model"), m -> m != null && m.path("version").asLong() >= 1);
                assertThat(model.get("signatureVerified").asBoolean()).isTrue();
                HttpResponse<String> answer = post(api + "/predict", JsonCodec.toJson(
                        BadRecords.sample("q1", null, data.floats(2), Split.TRAIN)));
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                // and a subscriber in this process reads and verifies it over SASL_SSL too
                try (ModelSubscriber subscriber = ModelSubscriber.start(SubscriberSettings.builder(BadRecords.MODEL).optFollow(Follow.LATEST)
                        .optVerifyKey(KEY).optStartTimeout(Duration.ofSeconds(60)).build(), topics, bootstrap, predictorClient,
                        new SimpleMeterRegistry())) {
                    assertThat(subscriber.awaitVersion(1, WAIT)).isTrue();
                    assertThat(subscriber.current().orElseThrow().signed()).isTrue();
                }
                // and `rehearsal feedback` writes with a client file (the predictor's user may write feedback)
                assertThat(cli("feedback", "--kafka-config", predictorFile.toString(), "--topic-prefix", topics.prefix(),
                        "--sample", "s1", "--kind", "LABEL", "--label", "2", "--model-id", BadRecords.MODEL)[0]).isEqualTo("0");

                // When someone writes a tampered and an unsigned copy of the newest snapshot to the topic
                ModelSnapshot genuine = newest(predictorClient, topics);
                ModelSnapshot tampered = ModelSnapshot.newBuilder(genuine).setVersion(1000).build();
                ModelSnapshot unsigned = ModelSnapshot.newBuilder(genuine).setVersion(1001).setSignature(null).build();
                try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(admin, new ByteArraySerializer(), new ByteArraySerializer())) {
                    for (ModelSnapshot forged : List.of(tampered, unsigned)) {
                        producer.send(new ProducerRecord<>(topics.modelUpdates().name(), topics.modelUpdates().serializeKey(
                                BadRecords.MODEL), topics.modelUpdates().serializeValue(forged))).get();
                    }
                }
                // Then the predictor refuses both and keeps serving a genuine version
                await("both refused").atMost(WAIT).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                        assertThat(get(api + "/metrics").body()).contains("reason=\"BAD_SIGNATURE\"} 1.0", "reason=\"UNSIGNED\"} 1.0"));
                assertThat(json(api + "/model").get("version").asLong()).isLessThan(1000);
                assertThat(Files.readString(predictor.log())).contains("REFUSED snapshot version 1000 (BAD_SIGNATURE)",
                        "REFUSED snapshot version 1001 (UNSIGNED)");
            }

            // When the components start with a wrong password
            try (ComponentProcess curator = component("curator-wrong", dir, Map.of(), concat(List.of("curator",
                         "--kafka-config", wrongFile.toString(), "--state-dir", dir.resolve("state-2").toString()), common, shape));
                 ComponentProcess trainer = component("trainer-wrong", dir, Map.of("REHEARSAL_KAFKA_SASL_JAAS_CONFIG",
                         jaas("rehearsal-trainer", "not-the-password")), concat(List.of("trainer", "--kafka-config", clientFile.toString(),
                         "--model-id", BadRecords.MODEL, "--hidden", "32"), common, shape));
                 ComponentProcess predictor = component("predictor-wrong", dir, Map.of(), concat(List.of("predictor",
                         "--kafka-config", wrongFile.toString(), "--model-id", BadRecords.MODEL), common))) {
                List<ComponentProcess> wrong = List.of(curator, trainer, predictor);
                wrong.forEach(ComponentProcess::start);
                // Then each exits non-zero, soon, saying that authentication failed
                for (ComponentProcess p : wrong) {
                    await(p.name() + " to exit").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                            assertThat(p.exitCode()).as("%s still running with a wrong password:\n%s", p.name(),
                                    Files.readString(p.log())).isNotNull());
                    assertThat(p.exitCode()).as("%s exit code", p.name()).isNotZero();
                    String output = Files.readString(p.log());
                    assertThat(output).as("%s output", p.name()).contains("Authentication failed");
                    System.out.printf("%s exited %d after %.1f s: %s%n", p.name(), p.exitCode(), p.uptime().toMillis() / 1e3,
                            output.lines().filter(l -> l.contains("Authentication failed")).findFirst().orElse(""));
                }
            }
            // and so does `rehearsal feedback`
            String[] result = cli("feedback", "--kafka-config", wrongFile.toString(), "--topic-prefix", topics.prefix(),
                    "--sample", "s1", "--kind", "CONFIRM", "--model-id", BadRecords.MODEL);
            assertThat(result[0]).isEqualTo("1");
            assertThat(result[1]).contains("Authentication failed");
            System.out.println("rehearsal feedback: " + result[1].strip());
        }
    }

    private static ComponentProcess component(String name, Path dir, Map<String, String> env, List<String> args) {
        return new ComponentProcess(name, args, env, dir, "512m");
    }

    @SafeVarargs
    private static List<String> concat(List<String>... parts) {
        List<String> out = new ArrayList<>();
        for (List<String> p : parts) {
            out.addAll(p);
        }
        return out;
    }

    private static String password(String user) {
        return user + "-secret-0123456789";
    }

    private static String scram(String user) {
        return "SCRAM-SHA-512=[name=" + user + ",password=" + password(user) + "]";
    }

    private static String jaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\""
                + password + "\";";
    }

    /** What k8s/ gives a component: its KafkaUser Secret's sasl.jaas.config in REHEARSAL_KAFKA_SASL_JAAS_CONFIG. */
    private static Map<String, String> credentials(String user) {
        return Map.of("REHEARSAL_KAFKA_SASL_JAAS_CONFIG", jaas(user, password(user)));
    }

    private static Properties withJaas(Path file, String user, String password) throws Exception {
        Properties p = new Properties();
        try (var in = Files.newInputStream(file)) {
            p.load(in);
        }
        p.setProperty("sasl.jaas.config", jaas(user, password));
        return p;
    }

    private static Map<String, Object> properties(Properties p) {
        Map<String, Object> out = new HashMap<>();
        p.forEach((k, v) -> out.put(k.toString(), v));
        return out;
    }

    /** The ACLs of every KafkaUser in a Strimzi users file, as the User Operator would apply them. */
    private static List<AclBinding> acls(Path usersYaml) throws Exception {
        List<AclBinding> out = new ArrayList<>();
        try (var docs = YAML.readerFor(JsonNode.class).<JsonNode>readValues(usersYaml.toFile())) {
            while (docs.hasNext()) {
                JsonNode user = docs.next();
                if (!"KafkaUser".equals(user.path("kind").asText())) {
                    continue;
                }
                String principal = "User:" + user.path("metadata").path("name").asText();
                for (JsonNode acl : user.path("spec").path("authorization").path("acls")) {
                    JsonNode r = acl.path("resource");
                    ResourceType type = switch (r.path("type").asText()) {
                        case "topic" -> ResourceType.TOPIC;
                        case "group" -> ResourceType.GROUP;
                        case "transactionalId" -> ResourceType.TRANSACTIONAL_ID;
                        case "cluster" -> ResourceType.CLUSTER;
                        default -> throw new IllegalArgumentException("unknown resource type in " + r);
                    };
                    String name = type == ResourceType.CLUSTER ? "kafka-cluster" : r.path("name").asText();
                    PatternType pattern = "prefix".equals(r.path("patternType").asText()) ? PatternType.PREFIXED : PatternType.LITERAL;
                    for (JsonNode op : acl.path("operations")) {
                        AclOperation operation = AclOperation.fromString(op.asText().replaceAll("([a-z])([A-Z])", "$1_$2"));
                        out.add(new AclBinding(new ResourcePattern(type, name, pattern),
                                new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW)));
                    }
                }
            }
        }
        return out;
    }

    private static Path write(Path file, Map<String, String> props) throws Exception {
        Properties p = new Properties();
        p.putAll(props);
        return write(file, p);
    }

    private static Path write(Path file, Properties p) throws Exception {
        try (var out = Files.newOutputStream(file)) {
            p.store(out, null);
        }
        return file;
    }

    /** Runs a rehearsal command in this JVM: {exit code, stdout + stderr}. */
    private static String[] cli(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(out, true));
        int code = cli.execute(args);
        return new String[] {Integer.toString(code), out.toString()};
    }

    private static ModelSnapshot newest(Map<String, Object> client, Topics topics) {
        Map<String, Object> p = new HashMap<>(client);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topics.modelUpdates().name(), 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp)).get(tp);
            ModelSnapshot newest = null;
            while (c.position(tp) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    newest = topics.modelUpdates().deserializeValue(r.value());
                }
            }
            return newest;
        }
    }

    private JsonNode json(String url) throws Exception {
        try {
            HttpResponse<String> r = get(url);
            return r.statusCode() == 200 ? JsonCodec.mapper().readTree(r.body()) : null;
        } catch (java.io.IOException e) {
            return null; // not listening yet
        }
    }

    private HttpResponse<String> get(String url) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}
