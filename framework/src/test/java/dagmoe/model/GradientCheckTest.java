package dagmoe.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every parameter tensor's gradient (and the token-embedding input path) against central finite
 * differences of the total loss (LM + balance + z) of a tiny float32 model with all weights random
 * (std 0.3, so the dag/mix up-projections are non-zero and gradients are large against float noise).
 * Step h = 2e-3; an entry passes when |analytic − fd| <= 2e-2·max(|analytic|, |fd|) + 2e-4 (the floor:
 * float32 loss noise ~1e-7 divided by 2h). Entries whose perturbation changes any routing decision are
 * skipped (at most a quarter of them). Where curvature is high (the no-injection dag has no residual path)
 * the central difference's O(h²) error can exceed that; an entry that fails is re-checked against the
 * Richardson extrapolation (4·fd(h) − fd(2h))/3, whose error is O(h⁴). Up to 24 random entries per tensor.
 */
class GradientCheckTest {

    static Stream<Object[]> configs() {
        return Stream.of(
                new Object[] {"sum", Tiny.config(Aggregator.SUM).build()},
                new Object[] {"shared", Tiny.config(Aggregator.SHARED).build()},
                new Object[] {"dag", Tiny.config(Aggregator.DAG).build()},
                new Object[] {"dag-outer", Tiny.config(Aggregator.DAG).set("dag.residual", DagResidual.OUTER).build()},
                new Object[] {"dag-noinject", Tiny.config(Aggregator.DAG).set("dag.inject", false).build()},
                new Object[] {"dag-inject-undivided", Tiny.config(Aggregator.DAG).set("dag.inject_divide", false).build()},
                new Object[] {"dag-outer-noinject-K3", Tiny.config(Aggregator.DAG).set("dag.residual", DagResidual.OUTER)
                        .set("dag.inject", false).set("top_k", 3).build()},
                new Object[] {"mlp-mix", Tiny.config(Aggregator.MLP_MIX).build()},
                new Object[] {"chain", Tiny.config(Aggregator.CHAIN).build()},
                new Object[] {"chain-R3-unnormalized", Tiny.config(Aggregator.CHAIN).set("chain.rounds", 3).set("router.normalize_topk", false).build()},
                new Object[] {"dag-moe_every2-tied", Tiny.config(Aggregator.DAG).set("moe_every", 2).set("tie_embeddings", true).build()},
                new Object[] {"sum-moe_every2-tied", Tiny.config(Aggregator.SUM).set("moe_every", 2).set("tie_embeddings", true).build()});
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void everyParameterMatchesFiniteDifferences(String label, ModelConfig base) {
        ModelConfig cfg = base.toBuilder().set("router.balance_coef", 0.1).set("router.z_loss_coef", 0.01).build();
        Model m = new Model(cfg, Tiny.JAVA, 7);
        Tiny.randomize(m, 0.3, 11);
        int B = 2, S = 6, T = B * S;
        int[] in = Tiny.tokens(T, cfg.vocabSize(), 3);
        int[] tg = Tiny.tokens(T, cfg.vocabSize(), 4);
        tg[5] = -1; // ignored target
        StepResult r0 = m.trainStep(in, tg, B, S);
        int[][] routing = m.routingSnapshot();
        float h = 2e-3f;
        SplittableRandom pick = new SplittableRandom(5);
        List<String> failures = new ArrayList<>();
        int checked = 0, skipped = 0;
        double worst = 0;
        for (Parameter p : m.parameters()) {
            int n = Math.min(24, p.size());
            int[] idx = n == p.size() ? range(n) : pick.ints(n, 0, p.size()).toArray();
            if (p.name().equals("tok_emb")) idx = embeddingRows(in, cfg.dModel(), pick); // the input path
            for (int i : idx) {
                float w = p.data()[i];
                p.data()[i] = w + h;
                StepResult plus = m.forward(in, tg, B, S);
                boolean same = Arrays.deepEquals(routing, m.routingSnapshot());
                p.data()[i] = w - h;
                StepResult minus = m.forward(in, tg, B, S);
                same &= Arrays.deepEquals(routing, m.routingSnapshot());
                p.data()[i] = w;
                if (!same) { skipped++; continue; }
                double fd = (plus.totalLoss() - minus.totalLoss()) / (2.0 * h);
                double an = p.grad()[i];
                double err = Math.abs(an - fd);
                double tol = 2e-2 * Math.max(Math.abs(an), Math.abs(fd)) + 2e-4;
                if (err > tol) { // Richardson: cancel the h² term with a step of 2h
                    p.data()[i] = w + 2 * h;
                    double plus2 = m.forward(in, tg, B, S).totalLoss();
                    boolean same2 = Arrays.deepEquals(routing, m.routingSnapshot());
                    p.data()[i] = w - 2 * h;
                    double minus2 = m.forward(in, tg, B, S).totalLoss();
                    same2 &= Arrays.deepEquals(routing, m.routingSnapshot());
                    p.data()[i] = w;
                    if (same2) {
                        double fdr = (4 * fd - (plus2 - minus2) / (4.0 * h)) / 3;
                        err = Math.abs(an - fdr);
                        tol = 2e-2 * Math.max(Math.abs(an), Math.abs(fdr)) + 3e-4;
                    }
                }
                worst = Math.max(worst, err / tol);
                checked++;
                if (err > tol) failures.add(p.name() + "[" + i + "] analytic " + an + " fd " + fd);
            }
        }
        System.out.printf("gradcheck %s: %d entries checked, %d skipped (routing changed), worst err/tol %.3f, loss %.4f%n",
                label, checked, skipped, worst, r0.totalLoss());
        if (!failures.isEmpty())
            fail(label + ": " + failures.size() + " gradient mismatches, first: " + failures.subList(0, Math.min(8, failures.size())));
        assertTrue(skipped * 4 <= checked + skipped, label + ": too many entries skipped for routing changes: " + skipped);
    }

    private static int[] range(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    /** 24 entries of rows of tokens that occur in the input, plus 4 of the whole table. */
    private static int[] embeddingRows(int[] in, int d, SplittableRandom r) {
        int[] idx = new int[28];
        for (int i = 0; i < 24; i++) idx[i] = in[r.nextInt(in.length)] * d + r.nextInt(d);
        for (int i = 24; i < 28; i++) idx[i] = r.nextInt(13 * d);
        return idx;
    }
}
