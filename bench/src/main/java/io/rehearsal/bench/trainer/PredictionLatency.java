package io.rehearsal.bench.trainer;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.rehearsal.models.net.ModelSpec;
import io.rehearsal.models.predict.PredictionHttpApi;
import io.rehearsal.models.predict.PredictionService;
import io.rehearsal.models.predict.PredictorSettings;
import io.rehearsal.models.snapshot.SnapshotCodec;
import io.rehearsal.models.subscribe.ModelSubscriber;
import io.rehearsal.models.subscribe.SubscriberSettings;
import io.rehearsal.models.train.ContinualTrainer;
import io.rehearsal.models.train.TrainerSettings;
import io.rehearsal.schemas.FeatureTensor;
import io.rehearsal.schemas.JsonCodec;
import io.rehearsal.schemas.Topics;
import io.rehearsal.schemas.avro.ModelSnapshot;
import io.rehearsal.schemas.avro.Provenance;
import io.rehearsal.schemas.avro.Sample;
import io.rehearsal.schemas.avro.SnapshotMetrics;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Prediction latency (p50, p99) and predictions/s of a served model, in process ({@link
 * ModelSubscriber#predict}) and over HTTP ({@code POST /predict} of {@link PredictionHttpApi} on the
 * JDK's HttpServer with 4 handler threads, as the predictor serves it), for the Fashion-MNIST MLP
 * 784-256-256-10 (LayerNorm, ReLU). Single samples from 1 and from {@code threads} callers, and batches
 * of 32. No broker: the snapshot is offered to a detached subscriber (feedback is not measured).
 *
 * <pre>java -cp ... io.rehearsal.bench.trainer.PredictionLatency [seconds per case=5] [caller threads=2] [torch threads=1]</pre>
 */
public final class PredictionLatency {
    private static final int BATCH = 32;

    private PredictionLatency() {
    }

    /** One case's result. */
    private record Result(String name, long calls, int perCall, double seconds, long[] nanos) {
        double perSecond() {
            return calls * perCall / seconds;
        }

        double percentileMillis(double p) {
            return nanos[(int) Math.min(nanos.length - 1, Math.floor(p * nanos.length))] / 1e6;
        }
    }

    /** A call to measure; {@code i} picks the input. */
    @FunctionalInterface
    private interface Call {
        void run(int i) throws Exception;
    }

    public static void main(String[] args) throws Exception {
        // as OpsServer does: without TCP_NODELAY each small answer waits ~40 ms for the client's delayed ACK
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        Topics topics = Topics.defaults(); // also trusts rehearsal's Avro package before any record is built
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 5;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int torchThreads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
        ModelSpec spec = ModelSpec.mlp(784, 10, 256, 256).withOption("image", "1x28x28");
        SubscriberSettings settings = SubscriberSettings.builder("bench").optThreads(torchThreads).build();
        ModelSubscriber subscriber = ModelSubscriber.detached(settings, new SimpleMeterRegistry());
        if (!subscriber.offer(snapshot(spec, torchThreads), ref -> null)) {
            throw new IllegalStateException("the benchmark snapshot was refused; see the log");
        }
        SplittableRandom random = new SplittableRandom(1);
        List<float[]> inputs = new ArrayList<>();
        List<String> json = new ArrayList<>();
        for (int i = 0; i < 256; i++) {
            float[] x = new float[784];
            for (int d = 0; d < x.length; d++) {
                x[d] = (float) random.nextDouble();
            }
            inputs.add(x);
            json.add(JsonCodec.toJson(Sample.newBuilder().setId("b" + i).setModelId("bench")
                    .setFeatures(FeatureTensor.ofFloats(new int[] {784}, x)).setEventTime(Instant.now()).build()));
        }
        List<String> jsonBatches = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            jsonBatches.add("[" + String.join(",", json.subList(i * BATCH, (i + 1) * BATCH)) + "]");
        }
        List<List<float[]>> batches = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            batches.add(inputs.subList(i * BATCH, (i + 1) * BATCH));
        }

        PredictorSettings predictor = PredictorSettings.builder(settings).build();
        PredictionService service = PredictionService.serving(predictor, topics, subscriber,
                new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()), new SimpleMeterRegistry());
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        ExecutorService handlers = Executors.newFixedThreadPool(4);
        server.setExecutor(handlers);
        new PredictionHttpApi(service).routes().forEach(server::createContext);
        server.start();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        URI uri = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/predict");
        System.out.printf("model %s, %d PyTorch intra-op thread(s), %d available processors, %.0f s per case after "
                + "%.0f s of warm-up%n", spec, torchThreads, Runtime.getRuntime().availableProcessors(), seconds, seconds / 2);
        List<Result> results = new ArrayList<>();
        try {
            results.add(measure("in-process, 1 sample, 1 thread", 1, 1, seconds, i -> subscriber.predict(inputs.get(i % 256))));
            results.add(measure("in-process, 1 sample, " + threads + " threads", threads, 1, seconds,
                    i -> subscriber.predict(inputs.get(i % 256))));
            results.add(measure("in-process, batch of " + BATCH + ", 1 thread", 1, BATCH, seconds,
                    i -> subscriber.predict(batches.get(i % 8))));
            results.add(measure("HTTP, 1 sample, 1 client", 1, 1, seconds, i -> post(http, uri, json.get(i % 256))));
            results.add(measure("HTTP, 1 sample, " + threads + " clients", threads, 1, seconds,
                    i -> post(http, uri, json.get(i % 256))));
            results.add(measure("HTTP, batch of " + BATCH + ", 1 client", 1, BATCH, seconds,
                    i -> post(http, uri, jsonBatches.get(i % 8))));
        } finally {
            server.stop(0);
            handlers.shutdownNow();
            service.close();
        }
        System.out.println();
        System.out.println("| case | predictions/s | latency per call p50 / p99 (ms) | calls |");
        System.out.println("|---|---|---|---|");
        for (Result r : results) {
            System.out.printf("| %s | %,.0f | %.3f / %.3f | %,d |%n", r.name(), r.perSecond(), r.percentileMillis(0.50),
                    r.percentileMillis(0.99), r.calls());
        }
    }

    private static void post(HttpClient http, URI uri, String body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("POST /predict answered " + r.statusCode() + ": " + r.body());
        }
    }

    /** Runs {@code call} from {@code threads} threads for half of {@code seconds} (warm-up), then for {@code seconds}. */
    private static Result measure(String name, int threads, int perCall, double seconds, Call call) throws Exception {
        run(threads, seconds / 2, call);
        long started = System.nanoTime();
        List<long[]> perThread = run(threads, seconds, call);
        double elapsed = (System.nanoTime() - started) / 1e9;
        long[] all = perThread.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        System.out.printf("%-36s %,10.0f predictions/s  p50 %.3f ms  p99 %.3f ms%n", name, all.length * perCall / elapsed,
                all[all.length / 2] / 1e6, all[(int) (all.length * 0.99)] / 1e6);
        return new Result(name, all.length, perCall, elapsed, all);
    }

    private static List<long[]> run(int threads, double seconds, Call call) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        try {
            List<Future<long[]>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int offset = t * 37;
                futures.add(pool.submit(() -> {
                    long[] nanos = new long[1 << 16];
                    int n = 0;
                    for (int i = offset; System.nanoTime() < end; i++) {
                        long s = System.nanoTime();
                        call.run(i);
                        if (n == nanos.length) {
                            nanos = Arrays.copyOf(nanos, n * 2);
                        }
                        nanos[n++] = System.nanoTime() - s;
                    }
                    return Arrays.copyOf(nanos, n);
                }));
            }
            List<long[]> out = new ArrayList<>();
            for (Future<long[]> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static ModelSnapshot snapshot(ModelSpec spec, int threads) {
        byte[] blob;
        try (ContinualTrainer t = new ContinualTrainer(TrainerSettings.builder("bench", spec).optThreads(threads, 1).build())) {
            blob = SnapshotCodec.encodeParameters(t.parameters());
        }
        return SnapshotCodec.snapshot("bench", 1, null, 0, Instant.now(), spec.toAvro(), blob, List.of(),
                new SnapshotMetrics(0L, 0.0, 0.0, 0.0, null, null, Map.of(), Map.of(), null, Map.of(), null, java.util.List.of()),
                new Provenance(Map.of(), 42L, List.of(), List.of(), 0, "bench", "bench", System.getProperty("java.version"),
                        "0.36.0", "2.7.1", "cpu()", "localhost"), Optional.empty());
    }
}
