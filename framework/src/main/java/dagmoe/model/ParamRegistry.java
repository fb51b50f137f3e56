package dagmoe.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Creates the parameters in a fixed order, initialises them ({@link Init}) and remembers their component. */
final class ParamRegistry {
    final List<Parameter> list = new ArrayList<>();
    final Map<String, Parameter> byName = new LinkedHashMap<>();
    final Map<String, String> component = new LinkedHashMap<>();
    private final long seed;

    ParamRegistry(long seed) { this.seed = seed; }

    Parameter add(String name, String comp, Init.Kind kind, double std, boolean decay, int... shape) {
        long n = 1;
        for (int s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException(name + ": too many elements (" + n + ")");
        float[] data = new float[(int) n];
        Init.fill(data, kind, std, Init.seedFor(seed, name));
        Parameter p = new Parameter(name, shape.clone(), data, new float[(int) n], decay);
        if (byName.put(name, p) != null) throw new IllegalStateException("duplicate parameter " + name);
        list.add(p);
        component.put(name, comp);
        return p;
    }

    /** A [out, in] matrix drawn N(0, std), decayed. */
    Parameter matrix(String name, String comp, double std, int... shape) {
        return add(name, comp, Init.Kind.NORMAL, std, true, shape);
    }

    /** A norm scale [d] of ones, not decayed. */
    Parameter norm(String name, String comp, int d) {
        return add(name, comp, Init.Kind.ONES, 0, false, d);
    }
}
