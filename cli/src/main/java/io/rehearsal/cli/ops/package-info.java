/** What every rehearsal process serves operators: the Prometheus registry and the /metrics, /health, /ready endpoints. */
package io.rehearsal.cli.ops;
