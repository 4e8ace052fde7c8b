/** Seeded, stateless random draws: hashes of the seed and of what a draw is about. Imports nothing of the curator. */
package io.rehearsal.streams.random;
