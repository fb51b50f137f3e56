package dagmoe.model;

/**
 * Where the residual stream of a {@code dag} sub-block comes from (method doc, section 2, Decision).
 * {@code INJECTED}: x_i^0 = g_i Y_i + h/K and h' = Σ_i x_i^L (the injection IS the residual).
 * {@code OUTER}: x_i^0 = g_i Y_i + x/K and h' = h + Σ_i x_i^L (the literal alternative).
 */
public enum DagResidual {
    INJECTED("injected"), OUTER("outer");

    private final String key;

    DagResidual(String key) { this.key = key; }

    public String key() { return key; }

    @Override public String toString() { return key; }

    public static DagResidual parse(String s) {
        for (DagResidual r : values()) if (r.key.equals(s)) return r;
        throw new IllegalArgumentException("model.dag.residual = " + s + ": must be one of injected, outer");
    }
}
