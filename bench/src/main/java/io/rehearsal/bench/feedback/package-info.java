/**
 * {@code rehearsal bench feedback}: what human feedback buys back of what wrong labels cost, on the continual-learning
 * benchmark's stream.
 */
package io.rehearsal.bench.feedback;
