package dagmoe.model;

import java.util.Locale;

/** How the K selected expert outputs of a token are combined (method doc, section 3). */
public enum Aggregator {
    SUM, SHARED, DAG, MLP_MIX, CHAIN;

    /** The name used in configs and reports ("sum", "shared", "dag", "mlp-mix", "chain"). */
    public String key() { return name().toLowerCase(Locale.ROOT).replace('_', '-'); }

    @Override public String toString() { return key(); }
}
