/**
 * A real Kafka broker without Docker: {@link io.rehearsal.broker.EmbeddedKafkaBroker} runs a single-node
 * KRaft broker in-process for {@code rehearsal broker}, the demo and the tests.
 */
package io.rehearsal.broker;
