package dagmoe.model;

/** How the K selected expert outputs of a token are combined (method doc, section 3). */
public enum Aggregator {
    SUM("sum"), SHARED("shared"), DAG("dag"), MLP_MIX("mlp-mix"), CHAIN("chain");

    private final String key;

    Aggregator(String key) { this.key = key; }

    /** The name used in configs and reports ("sum", "shared", "dag", "mlp-mix", "chain"). */
    public String key() { return key; }

    @Override public String toString() { return key; }

    /** Parses a config value; unknown names throw "model.aggregator = x: must be one of ...". */
    public static Aggregator parse(String s) {
        for (Aggregator a : values()) if (a.key.equals(s)) return a;
        throw new IllegalArgumentException("model.aggregator = " + s + ": must be one of sum, shared, dag, mlp-mix, chain");
    }
}
