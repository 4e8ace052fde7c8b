/** Meters shared by the trainer and the prediction service: their Kafka clients' own metrics. */
package io.rehearsal.models.metrics;
