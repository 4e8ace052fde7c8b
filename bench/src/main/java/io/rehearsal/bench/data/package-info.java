/** Data for the demo and the benchmark: Fashion-MNIST and the class-incremental stream built from it. */
package io.rehearsal.bench.data;
