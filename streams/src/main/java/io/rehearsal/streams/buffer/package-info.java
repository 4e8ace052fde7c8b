/**
 * Where samples live: the short-term store and fresh queue, the class-balanced long-term buffer
 * ({@link io.rehearsal.streams.buffer.ClassQuota}, {@link io.rehearsal.streams.buffer.Reservoir}) and
 * the eval set. {@link io.rehearsal.streams.buffer.SampleMemory} keeps them and the schedule consistent.
 */
package io.rehearsal.streams.buffer;
