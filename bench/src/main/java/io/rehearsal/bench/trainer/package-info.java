/**
 * Small benchmark programs (plain {@code main} methods) behind the numbers in the docs:
 * {@link io.rehearsal.bench.trainer.TrainerThroughput} (samples/s beside plain PyTorch, see ops/bench/)
 * and {@link io.rehearsal.bench.trainer.MemoryFootprint} (native memory over a long run) for
 * docs/trainer.md; {@link io.rehearsal.bench.trainer.PredictionLatency} (prediction latency and
 * predictions/s, in process and over HTTP) for docs/subscribing.md.
 */
package io.rehearsal.bench.trainer;
