/**
 * JUnit 5 support: {@link io.rehearsal.broker.junit.KafkaBrokerExtension} injects a
 * {@link io.rehearsal.broker.junit.KafkaCluster} backed by a real broker;
 * {@link io.rehearsal.broker.junit.RequiresTool} gates a test on a program or Python module outside the JVM
 * (skipped with an install hint on a developer's machine, failed in CI).
 */
package io.rehearsal.broker.junit;
