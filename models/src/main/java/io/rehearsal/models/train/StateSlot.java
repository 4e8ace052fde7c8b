package io.rehearsal.models.train;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Parameter;
import ai.djl.nn.ParameterList;
import ai.djl.util.Pair;
import io.rehearsal.models.runtime.NamedTensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One kind of per-parameter optimizer state (a slot: {@code momentum}, {@code mean}, ...), keyed by
 * DJL's parameter id. An array is created at the parameter's first update, on the weight's device and
 * manager (so it is closed with the model): from the imported tensor if there is one, else zeros, as
 * DJL's optimizers start.
 */
final class StateSlot {
    private final String name;
    private final Map<String, NDArray> arrays = new ConcurrentHashMap<>();
    /** Imported values not yet on the device, by parameter id. */
    private final Map<String, float[]> imported = new ConcurrentHashMap<>();

    StateSlot(String name) {
        this.name = name;
    }

    /** The tensor name of this slot for a parameter. */
    String tensorName(String parameter) {
        return name + "/" + parameter;
    }

    /** Adds the tensor names this slot has for {@code parameters}. */
    void namesFor(ParameterList parameters, Set<String> out) {
        parameters.keys().forEach(p -> out.add(tensorName(p)));
    }

    /** The state of a parameter, created on first use. */
    NDArray get(String parameterId, NDArray weight) {
        return arrays.computeIfAbsent(parameterId, id -> {
            float[] values = imported.remove(id);
            return values == null ? weight.zerosLike() : weight.getManager().create(FloatBuffer.wrap(values), weight.getShape());
        });
    }

    void exportTo(ParameterList parameters, List<NamedTensor> out) {
        for (Pair<String, Parameter> p : parameters) {
            String id = p.getValue().getId();
            NDArray array = arrays.get(id);
            float[] values = array != null ? array.toFloatArray() : imported.get(id);
            if (values != null) {
                out.add(new NamedTensor(tensorName(p.getKey()), p.getValue().getArray().getShape().getShape(), values));
            }
        }
    }

    /**
     * Checks the tensors of this slot in {@code byName} against the parameters; returns the values to
     * import by parameter id (apply them with {@link #replace}).
     */
    Map<String, float[]> match(ParameterList parameters, Map<String, NamedTensor> byName) {
        Map<String, float[]> out = new HashMap<>();
        for (Pair<String, Parameter> p : parameters) {
            NamedTensor t = byName.get(tensorName(p.getKey()));
            if (t == null) {
                continue;
            }
            long[] expected = p.getValue().getArray().getShape().getShape();
            if (!Arrays.equals(expected, t.shape())) {
                throw new IllegalArgumentException("optimizer state " + t.name() + " has shape " + Arrays.toString(t.shape())
                        + " but parameter " + p.getKey() + " has " + Arrays.toString(expected));
            }
            out.put(p.getValue().getId(), t.data());
        }
        return out;
    }

    /** Drops the current state and takes {@code values} (from {@link #match}) instead. */
    void replace(Map<String, float[]> values) {
        arrays.values().forEach(NDArray::close);
        arrays.clear();
        imported.clear();
        imported.putAll(values);
    }
}
