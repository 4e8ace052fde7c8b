package io.rehearsal.models.train;

import io.rehearsal.models.runtime.NamedTensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Checks shared by the {@link ResumableOptimizer}s when they import state. */
final class OptimizerStates {
    private OptimizerStates() {
    }

    /** The tensors by name; a name given twice is refused. */
    static Map<String, NamedTensor> byName(List<NamedTensor> state) {
        Map<String, NamedTensor> byName = new LinkedHashMap<>();
        for (NamedTensor t : state) {
            if (byName.put(t.name(), t) != null) {
                throw new IllegalArgumentException("optimizer state holds " + t.name() + " twice");
            }
        }
        return byName;
    }

    /** Refuses tensors that are not in {@code known}: state saved by another optimizer or architecture. */
    static void requireKnown(Map<String, NamedTensor> byName, Set<String> known, String optimizer) {
        List<String> unknown = byName.keySet().stream().filter(n -> !known.contains(n)).toList();
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(String.format("optimizer state holds %d tensors that %s on this model does "
                            + "not have (%s); it was saved by another optimizer or architecture", unknown.size(), optimizer,
                    String.join(", ", unknown.subList(0, Math.min(3, unknown.size())))));
        }
    }
}
