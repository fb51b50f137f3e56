package dagmoe.model;

import dagmoe.backend.Backend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Identities of the aggregators at the sub-block level (random h and x, T = 10 tokens): dag with its
 * up-projections at zero against sum, one expert with K = 1 against a dense SwiGLU, and the dag's
 * invariance to the order of the K selected experts. Tolerance 1e-6 absolute on values of size ~1
 * (only float summation order differs).
 */
class AggregatorTest {
    static final Backend BE = Tiny.JAVA;
    static final int T = 10;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) Tiny.gauss(r);
        return a;
    }

    static float[] run(FeedForward f, float[] h, float[] x, int d) {
        f.allocate(T);
        float[] out = new float[T * d];
        f.forward(BE, h, x, out, T);
        return out;
    }

    static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** out = sum-block output + cx·x + ch·h, elementwise. */
    static float[] plus(float[] base, float cx, float[] x, float ch, float[] h) {
        float[] o = base.clone();
        for (int i = 0; i < o.length; i++) o[i] += cx * x[i] + ch * h[i];
        return o;
    }

    @Test
    void dagWithZeroUpProjectionEqualsSum() {
        ModelConfig sumCfg = Tiny.config(Aggregator.SUM).build();
        int d = sumCfg.dModel();
        float[] h = random(T * d, 1), x = random(T * d, 2);
        // same seed: the router and experts have the same names, hence the same weights
        float[] outSum = run(new MoeSum(new ParamRegistry(9), "layers.0.moe", sumCfg, new Scratch()), h, x, d);

        ModelConfig dag = Tiny.config(Aggregator.DAG).build();
        // injected (default): h' = Σ_i (g_i Y_i + h/K) = h + Σ g_i Y_i
        assertTrue(maxDiff(outSum, run(new MoeDag(new ParamRegistry(9), "layers.0.moe", dag, new Scratch()), h, x, d)) < 1e-6);
        // L = 0: no rounds, the same identity
        ModelConfig l0 = dag.toBuilder().set("dag.rounds", 0).build();
        assertTrue(maxDiff(outSum, run(new MoeDag(new ParamRegistry(9), "layers.0.moe", l0, new Scratch()), h, x, d)) < 1e-6);
        // outer: h' = h + Σ_i (g_i Y_i + x/K) = (sum output) + x
        ModelConfig outer = dag.toBuilder().set("dag.residual", DagResidual.OUTER).build();
        assertTrue(maxDiff(plus(outSum, 1, x, 0, h), run(new MoeDag(new ParamRegistry(9), "layers.0.moe", outer, new Scratch()), h, x, d)) < 1e-6);
        // outer without injection: exactly sum
        ModelConfig outerNo = outer.toBuilder().set("dag.inject", false).build();
        assertTrue(maxDiff(outSum, run(new MoeDag(new ParamRegistry(9), "layers.0.moe", outerNo, new Scratch()), h, x, d)) < 1e-6);
        // injected without injection: no residual path at all, h' = Σ g_i Y_i
        ModelConfig injNo = dag.toBuilder().set("dag.inject", false).build();
        assertTrue(maxDiff(plus(outSum, 0, x, -1, h), run(new MoeDag(new ParamRegistry(9), "layers.0.moe", injNo, new Scratch()), h, x, d)) < 1e-6);

        // control: with non-zero up-projections the dag output differs
        ParamRegistry reg = new ParamRegistry(9);
        MoeDag live = new MoeDag(reg, "layers.0.moe", dag, new Scratch());
        for (Parameter p : reg.list) if (p.name().endsWith("w_up") && p.name().contains("dag"))
            System.arraycopy(random(p.size(), 5), 0, p.data(), 0, p.size());
        assertTrue(maxDiff(outSum, run(live, h, x, d)) > 1e-3);
    }

    @Test
    void dagModelAtInitHasTheLogitsOfSumModel() {
        int B = 2, S = 6;
        int[] in = Tiny.tokens(B * S, 13, 1);
        Model sum = new Model(Tiny.config(Aggregator.SUM).build(), BE, 42);
        sum.forward(in, null, B, S);
        for (ModelConfig c : new ModelConfig[] {Tiny.config(Aggregator.DAG).build(),
                Tiny.config(Aggregator.DAG).set("dag.rounds", 0).build()}) {
            Model dag = new Model(c, BE, 42);
            dag.forward(in, null, B, S);
            assertTrue(maxDiff(sum.logits(), dag.logits()) < 1e-6, "dag L=" + c.dagRounds());
        }
    }

    /**
     * Upcycling: a dag (injected, any L) or mlp-mix model holding a sum model's weights and its own initial
     * aggregator weights (zero up-projections) computes the sum model's logits bit for bit, on java and cpu.
     */
    @Test
    void upcycledModelHasTheSumModelsLogitsBitForBit() {
        int B = 3, S = 16;
        for (Backend be : new Backend[] {BE, dagmoe.backend.Backends.create("cpu", 2)}) {
            ModelConfig base = Tiny.config(Aggregator.SUM).set("d_model", 32).set("n_heads", 4).set("seq_len", S)
                    .set("expert_hidden", 24).set("vocab_size", 50).set("dag.width", 8).build();
            int[] in = Tiny.tokens(B * S, 50, 7);
            Model sum = new Model(base, be, 3);
            Tiny.randomize(sum, 0.3, 11); // "trained" weights, far from the initial ones
            sum.forward(in, null, B, S);
            float[] want = sum.logits();
            for (ModelConfig c : new ModelConfig[] {base.toBuilder().set("aggregator", Aggregator.DAG).build(),
                    base.toBuilder().set("aggregator", Aggregator.DAG).set("dag.rounds", 3).build(),
                    base.toBuilder().set("aggregator", Aggregator.MLP_MIX).build()}) {
                Model up = new Model(c, be, 99); // another seed: the new aggregator weights are its own
                Tiny.copyWeights(sum, up);
                up.forward(in, null, B, S);
                float[] got = up.logits();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]),
                            be.name() + " " + c.aggregator() + " L=" + c.dagRounds() + ": logit " + i + " " + want[i] + " vs " + got[i]);
                }
            }
        }
    }

    @Test
    void oneExpertTopOneEqualsDenseSwiGlu() {
        ModelConfig c = Tiny.config(Aggregator.SUM).set("n_experts", 1).set("top_k", 1).set("router.z_loss_coef", 0).set("router.balance_coef", 0).build();
        int d = c.dModel(), de = c.expertHidden();
        ParamRegistry ra = new ParamRegistry(3), rb = new ParamRegistry(4);
        MoeSum moe = new MoeSum(ra, "layers.0.moe", c, new Scratch());
        FeedForward.Dense dense = new FeedForward.Dense(rb, "layers.0.ffn", c, new Scratch());
        // the dense block gets the (only) expert's weights: [1, de, d] -> [de, d]
        System.arraycopy(moe.experts.wGate.data(), 0, dense.ffn.wGate.data(), 0, de * d);
        System.arraycopy(moe.experts.wUp.data(), 0, dense.ffn.wUp.data(), 0, de * d);
        System.arraycopy(moe.experts.wDown.data(), 0, dense.ffn.wDown.data(), 0, de * d);
        float[] h = random(T * d, 1), x = random(T * d, 2);
        float[] a = run(moe, h, x, d), b = run(dense, h, x, d);
        assertTrue(maxDiff(a, b) < 1e-6, "outputs differ by " + maxDiff(a, b));
        // and the same backward: input and weight gradients
        float[] dOut = random(T * d, 3);
        float[] dhA = new float[T * d], dxA = new float[T * d], dhB = new float[T * d], dxB = new float[T * d];
        moe.backward(BE, h, x, dOut, dhA, dxA, T);
        dense.backward(BE, h, x, dOut, dhB, dxB, T);
        assertTrue(maxDiff(dhA, dhB) < 1e-6);
        assertTrue(maxDiff(dxA, dxB) < 1e-5, "dx differs by " + maxDiff(dxA, dxB));
        for (int i = 0; i < de * d; i++) {
            assertEquals(dense.ffn.wGate.grad()[i], moe.experts.wGate.grad()[i], 1e-5);
            assertEquals(dense.ffn.wDown.grad()[i], moe.experts.wDown.grad()[i], 1e-5);
        }
        for (float gr : moe.router.w.grad()) assertEquals(0f, gr, 1e-7); // p = 1 whatever the logit
    }

    @Test
    void dagIsInvariantToTheOrderOfTheSelectedExperts() {
        for (DagResidual res : DagResidual.values()) {
            ModelConfig c = Tiny.config(Aggregator.DAG).set("top_k", 3).set("dag.residual", res).build();
            int d = c.dModel(), K = c.topK();
            ParamRegistry reg = new ParamRegistry(5);
            MoeDag dag = new MoeDag(reg, "layers.0.moe", c, new Scratch());
            Tiny.randomizeAll(reg.list, 0.5, 6);
            dag.allocate(T);
            float[] h = random(T * d, 1), x = random(T * d, 2), gy = random(T * K * d, 3);
            float[] out = new float[T * d], outPerm = new float[T * d];
            dag.aggregate(BE, h, x, gy, out, T);
            // permute each token's K slots (gated outputs carry their gates)
            SplittableRandom r = new SplittableRandom(7);
            float[] gyPerm = new float[gy.length];
            for (int t = 0; t < T; t++) {
                int[] perm = {0, 1, 2};
                for (int i = K - 1; i > 0; i--) { int j = r.nextInt(i + 1); int tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp; }
                for (int i = 0; i < K; i++)
                    System.arraycopy(gy, (t * K + perm[i]) * d, gyPerm, (t * K + i) * d, d);
            }
            dag.aggregate(BE, h, x, gyPerm, outPerm, T);
            assertTrue(maxDiff(out, outPerm) < 1e-5, res + ": permuted output differs by " + maxDiff(out, outPerm));
            assertTrue(maxDiff(out, plus(new float[T * d], 0, x, 1, h)) > 1e-2, "the rounds did something");
        }
    }
}
