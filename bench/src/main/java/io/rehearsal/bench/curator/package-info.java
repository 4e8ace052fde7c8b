/** The curator's throughput benchmark against a real broker, next to Kafka's own producer. */
package io.rehearsal.bench.curator;
