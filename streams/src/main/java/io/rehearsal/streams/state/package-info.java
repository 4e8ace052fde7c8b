/**
 * The curator's state stores and their binary layout: keys that sort the way they are scanned
 * ({@link io.rehearsal.streams.state.Keys}) and the versioned values stored in them.
 */
package io.rehearsal.streams.state;
