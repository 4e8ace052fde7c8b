/**
 * Small benchmark programs (plain {@code main} methods) behind the numbers in docs/trainer.md:
 * {@link io.rehearsal.models.bench.TrainerThroughput} (samples/s beside plain PyTorch, see
 * ops/bench/) and {@link io.rehearsal.models.bench.MemoryFootprint} (native memory over a long run).
 */
package io.rehearsal.models.bench;
