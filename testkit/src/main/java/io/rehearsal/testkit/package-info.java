/**
 * JUnit 5 support: {@link io.rehearsal.testkit.KafkaBrokerExtension} injects a
 * {@link io.rehearsal.testkit.KafkaCluster} backed by a real broker;
 * {@link io.rehearsal.testkit.RequiresTool} gates a test on a program or Python module outside the JVM
 * (skipped with an install hint on a developer's machine, failed in CI).
 */
package io.rehearsal.testkit;
