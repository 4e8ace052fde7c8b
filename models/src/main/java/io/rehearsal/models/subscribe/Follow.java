package io.rehearsal.models.subscribe;

/** Which versions of a model a subscriber serves. See docs/lifecycle.md. */
public enum Follow {
    /**
     * The version the promoter promoted (the newest record on the model-promotions topic): candidates reach
     * services only once they pass the promotion policy or an operator promotes them; a pin or rollback
     * applies at once. The default.
     */
    PROMOTED,
    /** Every new snapshot on the model-updates topic as soon as it verifies: the trainer's latest candidate. */
    LATEST
}
