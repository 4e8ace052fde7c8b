/**
 * Subscribing to a model: {@link io.rehearsal.models.subscribe.ModelSubscriber} follows one model's
 * snapshots on the model-updates topic, verifies each (SHA-256 of every chunk and of the blob, and an
 * HMAC-SHA256 signature when a key is configured), loads it into a DJL model built from the snapshot's
 * spec and swaps it in atomically, reference counting the retired version until its last prediction
 * finishes. See docs/subscribing.md.
 */
package io.rehearsal.models.subscribe;
