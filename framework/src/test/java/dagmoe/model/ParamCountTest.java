package dagmoe.model;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parameter accounting against the method doc's formulas (section 3), written out independently here. */
class ParamCountTest {
    // d 64, 4 layers, 8 experts top-2, expert hidden 96, V 96, dag L 2 g 16 (small: model construction is timed)
    static final int V = 96, d = 64, nL = 4, N = 8, K = 2, de = 96, L = 2, g = 16;

    static ModelConfig base(Aggregator agg) {
        return ModelConfig.builder().set("vocab_size", V).set("d_model", d).set("n_layers", nL).set("n_heads", 4).set("seq_len", 64).set("n_experts", N).set("top_k", K)
                .set("expert_hidden", de).set("aggregator", agg).set("dag.rounds", L).set("dag.width", g).set("mlp_mix.width", g).set("chain.rounds", 2).build();
    }

    /** Everything except the aggregator: embedding, head, attention, norms, routers, experts. */
    static long backbone() {
        return 2L * V * d + nL * (4L * d * d + 2L * d + (long) N * d + 3L * N * d * de) + d;
    }

    static long inactiveExperts(int used) { return (long) nL * (N - used) * 3L * d * de; }

    @Test
    void countsMatchTheFormulas() {
        // the method doc's example: d 256, g 64, L 2 over 4 layers is "about 393K"; d_r matched 129
        assertEquals(393_216 + 2048, 4 * ModelConfig.dagExtraParams(256, 64, 2));
        assertEquals(129, ModelConfig.matchedSharedHidden(ModelConfig.defaults()));
        long dagExtra = nL * (long) L * (2L * d * g + 4L * g * g + d);
        int dr = ModelConfig.matchedSharedHidden(base(Aggregator.SHARED));
        assertEquals(Math.round(L * (2.0 * d * g + 4.0 * g * g + d) / (3.0 * d)), dr);
        assertEquals(33, dr);
        long sharedExtra = nL * 3L * d * dr;
        assertTrue(Math.abs(sharedExtra - dagExtra) <= nL * 3L * d / 2, "matched within half a unit of d_r");

        Map<Aggregator, Long> extra = Map.of(
                Aggregator.SUM, 0L,
                Aggregator.DAG, dagExtra,
                Aggregator.SHARED, sharedExtra,
                Aggregator.MLP_MIX, nL * ((long) K * d * g + (long) g * d),
                Aggregator.CHAIN, nL * (2L - 1) * N * d);
        for (Aggregator agg : Aggregator.values()) {
            ParamCounts pc = new Model(base(agg), Tiny.JAVA, 1).paramCounts();
            int used = agg == Aggregator.CHAIN ? Math.min(N, 2 * K) : K;
            assertEquals(extra.get(agg), pc.aggregator(), agg.key());
            assertEquals(backbone() + extra.get(agg), pc.total(), agg.key());
            assertEquals(pc.total() - inactiveExperts(used), pc.active(), agg.key());
            assertEquals(pc.total(), pc.byComponent().values().stream().mapToLong(Long::longValue).sum());
            assertEquals(3L * nL * N * d * de, pc.byComponent().get("experts"));
            System.out.printf("params %-7s total %,d active %,d aggregator %,d%n", agg.key(), pc.total(), pc.active(), pc.aggregator());
        }
    }

    @Test
    void sharedHiddenZeroMeansMatchedAndTiedHeadIsCountedOnce() {
        ModelConfig c = base(Aggregator.SHARED);
        Model m = new Model(c, Tiny.JAVA, 1);
        assertEquals(33, m.parameter("layers.0.moe.shared.w_gate").shape()[0]);
        Model explicit = new Model(c.toBuilder().set("shared.hidden", 7).build(), Tiny.JAVA, 1);
        assertEquals(nL * 3L * d * 7, explicit.paramCounts().aggregator());
        Model tied = new Model(base(Aggregator.SUM).toBuilder().set("tie_embeddings", true).build(), Tiny.JAVA, 1);
        assertEquals(backbone() - (long) V * d, tied.paramCounts().total());
        assertEquals(0L, tied.paramCounts().byComponent().get("head"));
        // moe_every 2: blocks 1 and 3 are MoE, blocks 0 and 2 dense SwiGLU of hidden de
        Model every2 = new Model(base(Aggregator.DAG).toBuilder().set("moe_every", 2).build(), Tiny.JAVA, 1);
        assertEquals(2L * 3 * d * de, every2.paramCounts().byComponent().get("dense"));
        assertEquals(2L * L * (2L * d * g + 4L * g * g + d), every2.paramCounts().aggregator());
        every2.parameter("layers.0.ffn.w_gate");
        every2.parameter("layers.1.moe.dag.1.w_up");
    }

    @Test
    void parameterNamesAndShapes() {
        Model m = new Model(base(Aggregator.DAG), Tiny.JAVA, 1);
        assertEquals(java.util.List.of(N, de, d), java.util.Arrays.stream(m.parameter("layers.2.moe.experts.w_gate").shape()).boxed().toList());
        assertEquals(java.util.List.of(N, d, de), java.util.Arrays.stream(m.parameter("layers.2.moe.experts.w_down").shape()).boxed().toList());
        assertEquals(java.util.List.of(d, g), java.util.Arrays.stream(m.parameter("layers.3.moe.dag.1.w_up").shape()).boxed().toList());
        assertEquals(java.util.List.of(g, g), java.util.Arrays.stream(m.parameter("layers.3.moe.dag.0.d").shape()).boxed().toList());
        for (float w : m.parameter("layers.3.moe.dag.1.w_up").data()) assertEquals(0f, w);
        for (float w : m.parameter("layers.3.moe.dag.1.norm").data()) assertEquals(1f, w);
        assertEquals(false, m.parameter("tok_emb").decay());
        assertEquals(false, m.parameter("final_norm").decay());
        assertEquals(true, m.parameter("lm_head").decay());
        // init: N(0, init_std); wo and expert w_down scaled by 1/sqrt(2·n_layers)
        assertEquals(0.02, std(m.parameter("layers.0.attn.wq").data()), 0.001);
        assertEquals(0.02 / Math.sqrt(8), std(m.parameter("layers.0.attn.wo").data()), 0.0005);
        assertEquals(0.02 / Math.sqrt(8), std(m.parameter("layers.0.moe.experts.w_down").data()), 0.0003);
        // same seed -> same weights; another seed -> others
        assertEquals(m.parameter("layers.1.attn.wk").data()[5], new Model(base(Aggregator.SUM), Tiny.JAVA, 1).parameter("layers.1.attn.wk").data()[5]);
        assertTrue(m.parameter("layers.1.attn.wk").data()[5] != new Model(base(Aggregator.DAG), Tiny.JAVA, 2).parameter("layers.1.attn.wk").data()[5]);
    }

    static double std(float[] a) {
        double s = 0;
        for (float v : a) s += (double) v * v;
        return Math.sqrt(s / a.length);
    }
}
