/**
 * What a person sees while the demo and the benchmarks run: progress bars on the console, the components' log
 * lines in a file of the report directory, and the warnings someone can act on, once.
 */
package io.rehearsal.bench.console;
