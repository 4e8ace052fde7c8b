/**
 * The curator: a Kafka Streams application that turns the samples and feedback topics into training
 * batches for view-batch rehearsal on a stream (docs/curator.md). {@link io.rehearsal.streams.CuratorTopology}
 * builds the topology from {@link io.rehearsal.streams.CuratorSettings}; {@link io.rehearsal.streams.CuratorApp}
 * runs it; {@link io.rehearsal.streams.InProcessCurator} runs the same topology without a broker.
 */
package io.rehearsal.streams;
