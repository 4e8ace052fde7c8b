/** Dead letters: every input the curator refuses, with where it came from and why. */
package io.rehearsal.streams.errors;
