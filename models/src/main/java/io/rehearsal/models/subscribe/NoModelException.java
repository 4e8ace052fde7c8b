package io.rehearsal.models.subscribe;

/** A prediction was asked for before the subscriber had loaded any verified snapshot of its model. */
public final class NoModelException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public NoModelException(String modelId) {
        super("model " + modelId + " has no verified snapshot loaded yet; wait until the subscriber is ready "
                + "(GET /ready) or until the trainer publishes a first snapshot");
    }
}
