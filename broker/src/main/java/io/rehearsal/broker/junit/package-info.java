/**
 * JUnit 5 support: {@link io.rehearsal.broker.junit.KafkaBrokerExtension} injects a
 * {@link io.rehearsal.broker.junit.KafkaCluster} backed by a real broker.
 */
package io.rehearsal.broker.junit;
