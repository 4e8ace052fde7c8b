/** The curator's Micrometer meters ({@code rehearsal.curator.*}); docs/metrics.md lists them. */
package io.rehearsal.streams.metrics;
