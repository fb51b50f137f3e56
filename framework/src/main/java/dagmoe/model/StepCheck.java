package dagmoe.model;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import dagmoe.backend.Agreement;
import dagmoe.backend.Backend;
import dagmoe.backend.OpCases;
import dagmoe.optim.AdamW;

/**
 * One whole training step (forward, backward, AdamW) of a tiny model on a backend against the same step on
 * {@code java}, same seed and batch: the losses within {@link Agreement#STEP_LOSS}, every gradient and every updated
 * weight within {@link Agreement#STEP_TENSOR}. {@code dagmoe selftest} runs it per aggregator; StepCheckTest checks it.
 */
public final class StepCheck {
    private StepCheck() {}

    /** Batch 2 × seq 8 of a vocabulary of 24. */
    public static final int B = 2, S = 8, V = 24;

    /** d 16, 2 layers, 2 heads, 4 experts top-2, expert hidden 16, dag L 2 g 8, mix g 8, chain R 2. */
    public static ModelConfig config(Aggregator agg) {
        return ModelConfig.builder().set("vocab_size", V).set("d_model", 16).set("n_heads", 2).set("n_layers", 2).set("seq_len", S).set("n_experts", 4).set("top_k", 2)
                .set("expert_hidden", 16).set("aggregator", agg).set("dag.rounds", 2).set("dag.width", 8).set("mlp_mix.width", 8).set("chain.rounds", 2).build();
    }

    static int[] tokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(V);
        return t;
    }

    /** Zero-initialised weights (dag/mix up-projections) get small random values so that every gradient path is used. */
    static void perturb(Model m, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Parameter p : m.parameters()) {
            float[] w = p.data();
            boolean allZero = true;
            for (float x : w) allZero &= x == 0f;
            if (allZero) for (int i = 0; i < w.length; i++) w[i] = (float) (0.02 * (r.nextDouble() * 2 - 1));
            m.backend().hostWrote(w);
        }
    }

    /** Rows "step &lt;agg&gt;" for loss, balance loss, z-loss, gradients (worst tensor) and updated weights (worst tensor). */
    public static List<OpCases.Row> check(Aggregator agg, Backend tested, Backend java) {
        String op = "step " + agg.key(), shape = "B" + B + " S" + S + " d16 L2 N4 K2";
        Model mj = new Model(config(agg), java, 7);
        long t0 = System.nanoTime();
        Model mt = new Model(config(agg), tested, 7);
        perturb(mj, 3);
        perturb(mt, 3);
        int[] in = tokens(B * S, 1), tg = tokens(B * S, 2);
        StepResult rj = mj.trainStep(in, tg, B, S);
        StepResult rt = mt.trainStep(in, tg, B, S);
        List<Parameter> pj = mj.parameters(), pt = mt.parameters();
        Worst grads = worst(pj, pt, Parameter::grad, tested);
        new AdamW(pj, 0.9f, 0.95f, 1e-8f, 0.1f, java).step(1e-3f);
        new AdamW(pt, 0.9f, 0.95f, 1e-8f, 0.1f, tested).step(1e-3f);
        Worst weights = worst(pj, pt, Parameter::data, tested);
        double ms = (System.nanoTime() - t0) / 1e6;
        List<OpCases.Row> rows = new ArrayList<>();
        rows.add(new OpCases.Row(op + " loss", shape, Agreement.compare(rj.loss(), rt.loss(), Agreement.STEP_LOSS), ms));
        rows.add(new OpCases.Row(op + " balance loss", shape, Agreement.compare(rj.balanceLoss(), rt.balanceLoss(), Agreement.STEP_LOSS), 0));
        rows.add(new OpCases.Row(op + " z-loss", shape, Agreement.compare(rj.zLoss(), rt.zLoss(), Agreement.STEP_LOSS), 0));
        rows.add(new OpCases.Row(op + " gradients", "worst: " + grads.name(), grads.diff(), 0));
        rows.add(new OpCases.Row(op + " AdamW weights", "worst: " + weights.name(), weights.diff(), 0));
        return rows;
    }

    /** The worst-agreeing tensor ({@code part}: a parameter's gradient or data) and its difference. */
    record Worst(String name, Agreement.Diff diff) {}

    /** Brings {@code tested}'s tensors to the host and finds the one that agrees worst with {@code java}'s. */
    static Worst worst(List<Parameter> java, List<Parameter> tested, java.util.function.Function<Parameter, float[]> part,
                       Backend testedBackend) {
        for (Parameter p : tested) testedBackend.toHost(part.apply(p));
        Agreement.Diff worst = null;
        String name = "";
        for (int i = 0; i < java.size(); i++) {
            Agreement.Diff d = Agreement.compare(part.apply(java.get(i)), part.apply(tested.get(i)), Agreement.STEP_TENSOR);
            if (d.worse(worst) == d) name = java.get(i).name();
            worst = d.worse(worst);
        }
        return new Worst(name, worst);
    }
}
