package io.rehearsal.models.predict;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.rehearsal.models.predict.ApiTokens.Role;
import io.rehearsal.models.release.ModelCommands;
import io.rehearsal.models.release.PromotionJson;
import io.rehearsal.models.release.ReleaseState;
import io.rehearsal.models.subscribe.ModelInfo;
import io.rehearsal.models.subscribe.ModelPrediction;
import io.rehearsal.models.subscribe.NoModelException;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.RecordDecodeException;
import io.rehearsal.schemas.avro.CommandAction;
import io.rehearsal.schemas.avro.Feedback;
import io.rehearsal.schemas.avro.ModelCommand;
import io.rehearsal.schemas.avro.Promotion;
import io.rehearsal.schemas.avro.PromotionAction;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import io.rehearsal.schemas.avro.TopicPartitionOffset;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;

/**
 * The prediction service's HTTP API, as handlers for the JDK's {@code HttpServer} (the process serves
 * them beside {@code /metrics}, {@code /health} and {@code /ready}):
 *
 * <ul>
 *   <li>{@code POST /predict}: a sample in the documented JSON shape ({@code id} and {@code modelId} may be
 *       left out), or a JSON array of them (predicted in one forward pass) → the prediction(s):
 *       {@code {"sampleId","modelId","label","confidence","topK":[{"label","probability"}],"modelVersion",
 *       "predictedTime"}}.</li>
 *   <li>{@code GET /model}: the version served, its spec, hash, metrics and provenance.</li>
 *   <li>{@code POST /feedback}: feedback in the documented JSON shape ({@code modelId} may be left out) →
 *       written to the feedback topic; answers 202 with where it was written.</li>
 * </ul>
 *
 * With {@link ApiTokens} every call needs {@code Authorization: Bearer <token>} of a caller with the route's
 * role: {@code predict} for {@code /predict} and {@code /model}, {@code feedback} for {@code /feedback},
 * {@code operate} for {@code GET /model/release} and {@code POST /model/promote|pin|unpin|rollback} (body
 * {@code {"version": 42, "reason": "..."}}: a command to the model's promoter, recorded with the caller's identity).
 * Feedback then records the caller's identity as its annotator and the trust configured for it, whatever the
 * request says; a request that claims another annotator is refused.
 *
 * Errors answer {@code {"error": REASON, "message": "what to do"}}: 400 for an invalid body, 401 without a
 * valid token, 403 for a role the caller lacks or an annotator it is not, 404 for a sample of another model,
 * 405 for a wrong method, 409 for a command the promoter rejected, 413 for a body over {@value #MAX_BODY_BYTES}
 * bytes, 503 before a model is served or when the broker does not acknowledge, 504 when no promoter answers.
 */
public final class PredictionHttpApi {
    /** The largest request body accepted. */
    public static final int MAX_BODY_BYTES = 64 << 20;
    private static final ObjectMapper MAPPER = JsonCodec.mapper();
    private static final String PREDICT_EXPECTED = "POST /predict takes one sample as a JSON object like "
            + "{\"features\":{\"shape\":[784],\"float32\":[0.0, ...]}} (or \"uint8\"), or a JSON array of them "
            + "(docs/subscribing.md)";
    private static final String FEEDBACK_EXPECTED = "POST /feedback takes one JSON object like "
            + "{\"sampleId\":\"s1\",\"kind\":\"LABEL\",\"label\":3} (kind LABEL, CONFIRM or REJECT; docs/subscribing.md)";

    /** The exchange attribute that holds the authenticated {@link ApiTokens.Caller}. */
    static final String CALLER = "rehearsal.caller";
    private static final String OPERATE_EXPECTED = "POST /model/<action> takes {\"reason\":\"why\"} and, for promote, "
            + "pin and rollback, an optional {\"version\": 42} (docs/lifecycle.md)";

    private final PredictionService service;
    private final Optional<ApiTokens> tokens;
    private final Supplier<ModelCommands> commands;
    private final Duration commandTimeout;

    /** The API open to anyone who reaches it (the demo, a laptop). */
    public PredictionHttpApi(PredictionService service) {
        this(service, Optional.empty(), null, Duration.ofSeconds(30));
    }

    /**
     * @param tokens   who may call and with which roles; empty: anyone may call anything
     * @param commands where operators' commands go (null: the operate routes answer 503)
     */
    public PredictionHttpApi(PredictionService service, Optional<ApiTokens> tokens, Supplier<ModelCommands> commands,
                             Duration commandTimeout) {
        this.service = service;
        this.tokens = tokens;
        this.commands = commands;
        this.commandTimeout = commandTimeout;
    }

    /**
     * Path to handler: {@code /predict}, {@code /model}, {@code /feedback}, {@code /model/release} and
     * {@code /model/promote|pin|unpin|rollback}, each behind the check of its role.
     */
    public Map<String, HttpHandler> routes() {
        Map<String, HttpHandler> routes = new LinkedHashMap<>();
        routes.put("/predict", guarded(Role.PREDICT, this::predict));
        routes.put("/model", guarded(Role.PREDICT, this::model));
        routes.put("/feedback", guarded(Role.FEEDBACK, this::feedback));
        routes.put("/model/release", guarded(Role.OPERATE, this::release));
        for (CommandAction action : CommandAction.values()) {
            String path = "/model/" + action.name().toLowerCase(Locale.ROOT);
            routes.put(path, guarded(Role.OPERATE, exchange -> operate(exchange, action, path)));
        }
        return routes;
    }

    /** Answers 401 without a valid bearer token, 403 without the role; else runs {@code handler} with the caller. */
    private HttpHandler guarded(Role role, HttpHandler handler) {
        return exchange -> {
            if (tokens.isEmpty()) {
                handler.handle(exchange);
                return;
            }
            long started = System.nanoTime();
            String path = exchange.getRequestURI().getPath();
            String header = exchange.getRequestHeaders().getFirst("Authorization");
            String token = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).strip() : null;
            Optional<ApiTokens.Caller> caller = tokens.get().authenticate(token);
            if (caller.isEmpty()) {
                exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"rehearsal\"");
                write(exchange, Answer.error(401, "UNAUTHENTICATED", token == null
                        ? path + " needs a token: send the header 'Authorization: Bearer <token>' (docs/lifecycle.md)"
                        : "the token is not valid; ask the operator of this service for one"), path, started);
                return;
            }
            if (!caller.get().may(role)) {
                write(exchange, Answer.error(403, "FORBIDDEN", caller.get().identity() + " may not "
                        + exchange.getRequestMethod() + " " + path + ": it needs the role " + role.name().toLowerCase(Locale.ROOT)
                        + ", and the token has " + caller.get().roles().stream().map(r -> r.name().toLowerCase(Locale.ROOT))
                        .sorted().toList()), path, started);
                return;
            }
            exchange.setAttribute(CALLER, caller.get());
            handler.handle(exchange);
        };
    }

    /** An answer with its status: the JSON body, and how many predictions it holds. */
    private record Answer(int status, JsonNode body, int predictions) {
        static Answer error(int status, String error, String message) {
            return new Answer(status, MAPPER.createObjectNode().put("error", error).put("message", message), 0);
        }
    }

    private static final class BadRequest extends Exception {
        private static final long serialVersionUID = 1L;
        final Answer answer;

        BadRequest(Answer answer) {
            super(answer.body().toString(), null, false, false);
            this.answer = answer;
        }
    }

    private void predict(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        Answer answer;
        try {
            requireMethod(exchange, "POST");
            JsonNode body = parse(readBody(exchange), PREDICT_EXPECTED);
            boolean batch = body.isArray();
            List<Sample> samples = new ArrayList<>();
            for (JsonNode node : batch ? body : List.of(body)) {
                samples.add(sample(node));
            }
            List<ModelPrediction> predictions = service.predict(samples);
            Instant now = Instant.now();
            ArrayNode out = MAPPER.createArrayNode();
            for (int i = 0; i < samples.size(); i++) {
                Sample s = samples.get(i);
                out.add(JsonCodec.toJson(predictions.get(i).toAvro(s.getId(), service.modelId(), s.getEventTime(), now)));
            }
            answer = new Answer(200, batch ? out : out.get(0), samples.size());
        } catch (BadRequest e) {
            answer = e.answer;
        } catch (RecordDecodeException e) {
            answer = Answer.error(400, e.reason().name(), e.getMessage());
        } catch (NoModelException e) {
            answer = Answer.error(503, "NO_MODEL", e.getMessage());
        } catch (IllegalArgumentException e) {
            answer = Answer.error(400, "SHAPE_MISMATCH", e.getMessage());
        }
        write(exchange, answer, "/predict", started);
    }

    private Sample sample(JsonNode node) throws BadRequest {
        if (!node.isObject()) {
            throw new BadRequest(Answer.error(400, "WRONG_TYPE", "each sample must be a JSON object like "
                    + "{\"features\":{\"shape\":[784],\"float32\":[...]}}"));
        }
        ObjectNode o = ((ObjectNode) node).deepCopy();
        if (!o.hasNonNull("id")) {
            o.put("id", "http-" + UUID.randomUUID());
        }
        JsonNode model = o.get("modelId");
        if (model == null || model.isNull()) {
            o.put("modelId", service.modelId());
        } else if (!service.modelId().equals(model.asText())) {
            throw new BadRequest(Answer.error(404, "UNKNOWN_MODEL", "this predictor serves model " + service.modelId()
                    + ", not " + model.asText() + "; send the request to that model's predictor"));
        }
        return JsonCodec.sample(o);
    }

    private void model(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        Answer answer;
        try {
            requireMethod(exchange, "GET");
            answer = service.current().map(info -> new Answer(200, toJson(info), 0))
                    .orElseGet(() -> Answer.error(503, "NO_MODEL", "model " + service.modelId()
                            + " has no verified snapshot loaded yet"));
        } catch (BadRequest e) {
            answer = e.answer;
        }
        write(exchange, answer, "/model", started);
    }

    private void feedback(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        Answer answer;
        try {
            requireMethod(exchange, "POST");
            JsonNode body = parse(readBody(exchange), FEEDBACK_EXPECTED);
            if (!body.isObject()) {
                throw new BadRequest(Answer.error(400, "WRONG_TYPE", "feedback is one JSON object, not an array; "
                        + FEEDBACK_EXPECTED));
            }
            ObjectNode o = (ObjectNode) body;
            if (!o.hasNonNull("modelId")) {
                o.put("modelId", service.modelId());
            }
            ApiTokens.Caller caller = (ApiTokens.Caller) exchange.getAttribute(CALLER);
            if (caller != null) {
                // who speaks is who the token says, with the trust configured for it: never the request's claim
                if (o.hasNonNull("annotator") && !o.get("annotator").asText().equals(caller.identity())) {
                    throw new BadRequest(Answer.error(403, "ANNOTATOR_MISMATCH", "the feedback names annotator '"
                            + o.get("annotator").asText() + "' but the token is " + caller.identity() + "'s; leave "
                            + "\"annotator\" out (it is recorded from the token) or send it with that annotator's token"));
                }
                o.put("annotator", caller.identity());
                o.put("trust", caller.trust());
            }
            Feedback f = JsonCodec.feedback(o);
            RecordMetadata md = service.sendFeedback(f);
            answer = new Answer(202, MAPPER.createObjectNode().put("sampleId", f.getSampleId()).put("kind", f.getKind().name())
                    .put("topic", md.topic()).put("partition", md.partition()).put("offset", md.offset()), 0);
        } catch (BadRequest e) {
            answer = e.answer;
        } catch (RecordDecodeException e) {
            answer = Answer.error(400, e.reason().name(), e.getMessage());
        } catch (KafkaException e) {
            answer = Answer.error(503, "NOT_WRITTEN", e.getMessage());
        }
        write(exchange, answer, "/feedback", started);
    }

    private void release(HttpExchange exchange) throws IOException {
        long started = System.nanoTime();
        Answer answer;
        try {
            requireMethod(exchange, "GET");
            answer = service.release().map(r -> new Answer(200, releaseJson(r), 0))
                    .orElseGet(() -> Answer.error(404, "NO_RELEASE", "model " + service.modelId() + " has no promotion "
                            + "applied here: this predictor follows the latest candidate, or no promoter has decided yet"));
        } catch (BadRequest e) {
            answer = e.answer;
        }
        write(exchange, answer, "/model/release", started);
    }

    private void operate(HttpExchange exchange, CommandAction action, String path) throws IOException {
        long started = System.nanoTime();
        Answer answer;
        try {
            requireMethod(exchange, "POST");
            JsonNode body = parse(readBody(exchange), OPERATE_EXPECTED);
            if (!body.isObject()) {
                throw new BadRequest(Answer.error(400, "WRONG_TYPE", OPERATE_EXPECTED));
            }
            ApiTokens.Caller caller = (ApiTokens.Caller) exchange.getAttribute(CALLER);
            String operator = caller != null ? caller.identity()
                    : "unauthenticated:" + (body.hasNonNull("operator") ? body.get("operator").asText() : "anonymous");
            JsonNode version = body.get("version");
            if (version != null && !version.isNull() && (!version.canConvertToLong() || action == CommandAction.UNPIN)) {
                throw new BadRequest(Answer.error(400, "WRONG_TYPE", "\"version\" must be a whole number, and unpin takes none; "
                        + OPERATE_EXPECTED));
            }
            if (commands == null) {
                throw new BadRequest(Answer.error(503, "NO_COMMANDS", "this predictor cannot send commands to the promoter"));
            }
            ModelCommand command;
            try {
                command = ModelCommands.command(service.modelId(), action, version == null || version.isNull() ? null
                        : version.asLong(), operator, body.hasNonNull("reason") ? body.get("reason").asText() : null);
            } catch (IllegalArgumentException e) {
                throw new BadRequest(Answer.error(400, "MISSING_FIELD", e.getMessage()));
            }
            Promotion p = commands.get().apply(command, commandTimeout);
            answer = new Answer(p.getAction() == PromotionAction.REJECTED ? 409 : 200, PromotionJson.toJson(p), 0);
        } catch (BadRequest e) {
            answer = e.answer;
        } catch (IllegalStateException e) {
            answer = Answer.error(504, "NO_PROMOTER", e.getMessage());
        } catch (KafkaException e) {
            answer = Answer.error(503, "NOT_WRITTEN", e.getMessage());
        }
        write(exchange, answer, path, started);
    }

    /** The JSON of {@code GET /model/release}. */
    static ObjectNode releaseJson(ReleaseState r) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("modelId", r.modelId());
        o.put("sequence", r.sequence());
        o.put("action", r.action().name());
        o.put("candidateVersion", r.candidateVersion());
        o.put("promotedVersion", r.promotedVersion());
        o.put("pinned", r.pinned());
        o.put("latestVersion", r.latestVersion());
        o.put("heldBackSeconds", r.heldBackFor(Instant.now()).toMillis() / 1000.0);
        o.put("candidatesHeldBack", r.candidatesHeldBack());
        o.put("actor", r.actor());
        o.put("reason", r.reason());
        o.put("time", r.time().toString());
        return o;
    }

    private static void requireMethod(HttpExchange exchange, String method) throws BadRequest {
        if (!method.equals(exchange.getRequestMethod())) {
            exchange.getResponseHeaders().set("Allow", method);
            throw new BadRequest(Answer.error(405, "METHOD_NOT_ALLOWED", exchange.getRequestURI().getPath()
                    + " takes " + method + ", not " + exchange.getRequestMethod()));
        }
    }

    private static byte[] readBody(HttpExchange exchange) throws IOException, BadRequest {
        try (InputStream in = exchange.getRequestBody()) {
            byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
            if (body.length > MAX_BODY_BYTES) {
                throw new BadRequest(Answer.error(413, "TOO_LARGE", "the body is over " + MAX_BODY_BYTES
                        + " bytes; send fewer samples per request"));
            }
            return body;
        }
    }

    /**
     * The body as a JSON object or array, or a 400 that says, in this project's words, what is wrong with it
     * and what to send instead ({@code expected}); never the parser's own message, which names its internals.
     */
    private static JsonNode parse(byte[] body, String expected) throws BadRequest {
        if (isBlank(body)) {
            throw new BadRequest(Answer.error(400, "MALFORMED_JSON", "the body is empty; " + expected));
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw new BadRequest(Answer.error(400, "MALFORMED_JSON", "the body is not valid JSON (" + JsonProblem.describe(e) + ")"
                    + "; " + expected));
        } catch (IOException e) {
            throw new BadRequest(Answer.error(400, "MALFORMED_JSON", "the body could not be read as JSON; " + expected));
        }
        if (node == null || !(node.isObject() || node.isArray())) {
            throw new BadRequest(Answer.error(400, "WRONG_TYPE", "the body is JSON but not an object or an array; " + expected));
        }
        return node;
    }

    private static boolean isBlank(byte[] body) {
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\n' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private void write(HttpExchange exchange, Answer answer, String path, long started) throws IOException {
        byte[] bytes = MAPPER.writeValueAsBytes(answer.body());
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(answer.status(), bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
        service.metrics().answered(path, answer.status(), answer.status() == 200 ? answer.predictions() : 0,
                System.nanoTime() - started);
    }

    /** The JSON of {@code GET /model}. */
    public static ObjectNode toJson(ModelInfo info) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("modelId", info.modelId());
        o.put("version", info.version());
        if (info.parentVersion() != null) {
            o.put("parentVersion", info.parentVersion());
        } else {
            o.putNull("parentVersion");
        }
        o.put("step", info.step());
        o.put("createdTime", info.createdTime().toEpochMilli());
        o.put("loadedTime", info.loadedTime().toEpochMilli());
        ObjectNode spec = o.putObject("spec");
        spec.put("name", info.spec().name());
        info.spec().inputShape().forEach(spec.putArray("inputShape")::add);
        spec.put("numClasses", info.spec().numClasses());
        ObjectNode options = spec.putObject("options");
        new TreeMap<>(info.spec().options()).forEach(options::put);
        ObjectNode parameters = o.putObject("parameters");
        parameters.put("sha256", info.sha256());
        parameters.put("sizeBytes", info.sizeBytes());
        parameters.put("chunks", info.chunks());
        o.put("signatureVerified", info.signed());
        SnapshotMetrics m = info.metrics();
        ObjectNode metrics = o.putObject("metrics");
        metrics.put("samplesSeen", m.getSamplesSeen());
        metrics.put("loss", m.getLoss());
        metrics.put("crossEntropy", m.getCrossEntropy());
        metrics.put("consistency", m.getConsistency());
        putNullable(metrics, "prequentialAccuracy", m.getPrequentialAccuracy());
        putNullable(metrics, "evalAccuracy", m.getEvalAccuracy());
        ObjectNode byClass = metrics.putObject("evalAccuracyByClass");
        new TreeMap<>(m.getEvalAccuracyByClass()).forEach(byClass::put);
        ObjectNode byTask = metrics.putObject("evalAccuracyByTask");
        new TreeMap<>(m.getEvalAccuracyByTask()).forEach(byTask::put);
        Provenance p = info.provenance();
        ObjectNode provenance = o.putObject("provenance");
        ObjectNode settings = provenance.putObject("settings");
        new TreeMap<>(p.getSettings()).forEach(settings::put);
        provenance.put("seed", p.getSeed());
        offsets(provenance.putArray("batchOffsets"), p.getBatchOffsets());
        offsets(provenance.putArray("sampleOffsets"), p.getSampleOffsets());
        provenance.put("bufferSize", p.getBufferSize());
        provenance.put("projectVersion", p.getProjectVersion());
        provenance.put("gitSha", p.getGitSha());
        provenance.put("javaVersion", p.getJavaVersion());
        provenance.put("djlVersion", p.getDjlVersion());
        provenance.put("engineVersion", p.getEngineVersion());
        provenance.put("device", p.getDevice());
        provenance.put("host", p.getHost());
        return o;
    }

    private static void putNullable(ObjectNode o, String field, Double value) {
        if (value == null) {
            o.putNull(field);
        } else {
            o.put(field, value);
        }
    }

    private static void offsets(ArrayNode array, List<TopicPartitionOffset> offsets) {
        for (TopicPartitionOffset t : offsets) {
            array.addObject().put("topic", t.getTopic()).put("partition", t.getPartition()).put("offset", t.getOffset());
        }
    }
}
