package dagmoe.model;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.field.Fields;

import java.util.SplittableRandom;

/** Tiny configs and helpers shared by the model tests. */
final class Tiny {
    private Tiny() {}

    static final Backend JAVA = Backends.create("java", 1);

    /** V 13, d 8, 2 heads, 2 layers, seq 6, 4 experts top-2, de 6, dag L 2 g 4, mix g 5, chain R 2. */
    static Fields.Builder<ModelConfig> config(Aggregator agg) {
        return ModelConfig.builder().set("vocab_size", 13).set("d_model", 8).set("n_heads", 2).set("n_layers", 2).set("seq_len", 6).set("n_experts", 4).set("top_k", 2)
                .set("expert_hidden", 6).set("aggregator", agg).set("dag.rounds", 2).set("dag.width", 4).set("mlp_mix.width", 5).set("chain.rounds", 2)
                .set("init_std", 0.02).set("moe_every", 1);
    }

    static int[] tokens(int n, int V, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(V);
        return t;
    }

    /** Every weight random: matrices N(0, std), norm scales 1 + N(0, 0.1); zero-initialised ones included. */
    static void randomize(Model m, double std, long seed) { randomizeAll(m.parameters(), std, seed); }

    static void randomizeAll(java.util.List<Parameter> params, double std, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Parameter p : params) {
            boolean norm = p.shape().length == 1;
            float[] w = p.data();
            for (int i = 0; i < w.length; i++) w[i] = (float) (norm ? 1 + 0.1 * gauss(r) : std * gauss(r));
        }
    }

    static double gauss(SplittableRandom r) {
        double u1 = 1 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Copies every weight of {@code from} into the same-named parameter of {@code to} (where present). */
    static void copyWeights(Model from, Model to) {
        for (Parameter p : from.parameters()) {
            Parameter q;
            try { q = to.parameter(p.name()); } catch (IllegalArgumentException e) { continue; }
            System.arraycopy(p.data(), 0, q.data(), 0, p.size());
        }
    }
}
