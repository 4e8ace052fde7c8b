/**
 * Model specifications ({@link io.rehearsal.models.net.ModelSpec}) and the networks they name
 * ({@link io.rehearsal.models.net.Networks}): an MLP with LayerNorm and a small CNN with GroupNorm,
 * each with one head over all classes.
 */
package io.rehearsal.models.net;
