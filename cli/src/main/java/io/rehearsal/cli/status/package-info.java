/**
 * {@code rehearsal status}: one screen for an operator, collected from the topics (release state, freshness,
 * consumer lag, dead letters) and the components' {@code /metrics} (buffer occupancy, the version each
 * predictor serves), printed as text or JSON ({@link io.rehearsal.cli.status.StatusText}).
 */
package io.rehearsal.cli.status;
