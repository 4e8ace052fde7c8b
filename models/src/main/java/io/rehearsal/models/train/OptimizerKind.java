package io.rehearsal.models.train;

/** The optimizer of the trainer. */
public enum OptimizerKind {
    /** SGD with (heavy-ball) momentum; {@code momentum = 0} gives plain SGD. */
    SGD,
    /** Adam (beta1 0.9, beta2 0.999); momentum is ignored. */
    ADAM
}
