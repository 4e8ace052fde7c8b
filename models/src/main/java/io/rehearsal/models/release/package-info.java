/**
 * What services of a model should run, as the promoter decided it: the {@code Promotion} records of the
 * compacted model-promotions topic, their signature ({@link io.rehearsal.models.release.PromotionSigner}),
 * the snapshot a record promotes ({@link io.rehearsal.models.release.ReleasedSnapshots}), reading a model's
 * history of decisions ({@link io.rehearsal.models.release.PromotionReader}) and asking the promoter to
 * promote, pin, unpin or roll back ({@link io.rehearsal.models.release.ModelCommands}). Serving reads this
 * package; only the promoter writes promotions. See docs/lifecycle.md.
 */
package io.rehearsal.models.release;
