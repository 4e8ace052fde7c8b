package io.rehearsal.models.train;

import ai.djl.nn.ParameterList;
import io.rehearsal.models.runtime.NamedTensor;
import java.util.List;

/**
 * An optimizer whose state (momentum buffers, Adam's moments and step count) can be read out and put
 * back as named tensors, so that a trainer resumed from a snapshot continues exactly as one that never
 * stopped. DJL's own optimizers keep that state private.
 *
 * <p>Tensors are named {@code <slot>/<parameter>} (e.g. {@code momentum/02Linear_weight}) after the
 * parameters' block paths, which are stable for a given {@link io.rehearsal.models.net.ModelSpec}.
 */
public interface ResumableOptimizer {
    /**
     * The state, copied to the heap, for the parameters of {@code parameters} that have any (none before
     * the first update, or for an optimizer without state such as SGD without momentum).
     */
    List<NamedTensor> exportState(ParameterList parameters);

    /**
     * Replaces the state with {@code state} (as {@link #exportState} wrote it); parameters it does not
     * cover start from zero. Nothing changes unless every tensor fits.
     *
     * @throws IllegalArgumentException if a tensor names no slot of this optimizer or no parameter, or has
     *                                  another shape than its parameter (state saved by another optimizer or
     *                                  architecture)
     */
    void importState(ParameterList parameters, List<NamedTensor> state);
}
