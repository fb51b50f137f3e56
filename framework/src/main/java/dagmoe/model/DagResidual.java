package dagmoe.model;

import java.util.Locale;

/**
 * Where the residual stream of a {@code dag} sub-block comes from (method doc, section 2, Decision).
 * {@code INJECTED}: x_i^0 = g_i Y_i + h/K and h' = Σ_i x_i^L (the injection IS the residual).
 * {@code OUTER}: x_i^0 = g_i Y_i + x/K and h' = h + Σ_i x_i^L (the literal alternative).
 */
public enum DagResidual {
    INJECTED, OUTER;

    /** The name used in configs ("injected", "outer"). */
    @Override public String toString() { return name().toLowerCase(Locale.ROOT); }
}
