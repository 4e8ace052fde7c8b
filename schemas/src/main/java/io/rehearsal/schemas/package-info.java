/**
 * Rehearsal's public topic contracts: the Avro records (generated in {@code io.rehearsal.schemas.avro}),
 * their serdes (Avro single-object encoding, plus JSON for the input topics), the {@link
 * io.rehearsal.schemas.Topics} registry and the {@link io.rehearsal.schemas.TopicAdmin} that creates
 * topics and reports drift.
 */
package io.rehearsal.schemas;
