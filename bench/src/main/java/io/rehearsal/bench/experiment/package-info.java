/**
 * Continual-learning experiments on the class-incremental stream: in-process (curator topology and
 * trainer, no broker) or through Kafka, with the accuracy matrix, forgetting and learning curves.
 */
package io.rehearsal.bench.experiment;
