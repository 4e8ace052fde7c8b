package io.rehearsal.models.snapshot;

/**
 * Another trainer started with the same transactional id (the same model) and fenced this one. This
 * trainer must stop: only one trainer may write a model's weights.
 */
public final class TrainerFencedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public TrainerFencedException(String modelId, String transactionalId, Throwable cause) {
        super(String.format("the trainer of model %s was fenced: another trainer started with transactional.id %s "
                + "and now owns the model. Only one trainer per model may run; this one stops without publishing. "
                + "If no other trainer should be running, look for a duplicate deployment of model %s",
                modelId, transactionalId, modelId), cause);
    }
}
