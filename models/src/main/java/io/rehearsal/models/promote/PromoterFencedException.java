package io.rehearsal.models.promote;

/** Another promoter of the same model started (same transactional id): this one must stop. */
public final class PromoterFencedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PromoterFencedException(String modelId, String transactionalId, Throwable cause) {
        super("the promoter of model " + modelId + " was fenced: another promoter started with transactional.id "
                + transactionalId + ". Only one promoter per model may run; this one stops", cause);
    }
}
