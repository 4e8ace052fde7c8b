/**
 * Fault injection: the pipeline's components as child processes killed with SIGKILL, broker restarts,
 * and the end-to-end checks on what the topics hold afterwards ({@code rehearsal bench chaos}, ChaosIT).
 */
package io.rehearsal.bench.chaos;
