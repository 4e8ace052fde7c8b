/**
 * The prediction service: {@link io.rehearsal.models.predict.PredictionService} answers unlabeled
 * samples from the samples topic on the predictions topic and, through
 * {@link io.rehearsal.models.predict.PredictionHttpApi}, over HTTP; it takes human feedback over HTTP,
 * and {@link io.rehearsal.models.predict.FeedbackSender} writes feedback for the CLI too.
 */
package io.rehearsal.models.predict;
