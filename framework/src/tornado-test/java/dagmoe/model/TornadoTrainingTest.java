package dagmoe.model;

import static dagmoe.model.StepCheck.B;
import static dagmoe.model.StepCheck.S;
import static dagmoe.model.StepCheck.config;
import static dagmoe.model.StepCheck.perturb;
import static dagmoe.model.StepCheck.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;

/**
 * Whole training steps on {@code tornado} (every op a TornadoVM task) against {@code java}, same seed:
 * one step per aggregator (losses, every gradient, every updated weight), and the loss after 20 steps.
 * Tolerances: device code fuses multiply-adds, so values differ in the last bits and the differences grow
 * through the layers and steps; 1e-4 relative on the first losses, gradients within 1e-3 of the tensor's
 * largest gradient, 1e-3 relative on the loss after 20 steps (the cpu-vs-java test uses the same bound).
 * Run only with the Maven profile {@code tornado}.
 */
class TornadoTrainingTest {
    static Backend tornado;
    static final Backend JAVA = Backends.create("java", 1);

    @BeforeAll
    static void start() {
        tornado = Backends.create("tornado", 1);
    }

    @AfterAll
    static void stop() throws Exception {
        Object profile = tornado.getClass().getMethod("profile").invoke(tornado);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Double>> p = (Map<String, Map<String, Double>>) profile;
        System.err.println("tornado total (ms): " + p.get("total"));
        tornado.close();
    }

    static void closeTo(float[] expected, float[] actual, String what) {
        float max = 0;
        for (float x : expected) max = Math.max(max, Math.abs(x));
        float tol = 1e-3f * max + 1e-7f;
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tol)) {
                throw new AssertionError(what + "[" + i + "]: java " + expected[i] + ", tornado " + actual[i]
                        + " (tol " + tol + " = 1e-3 of the largest |value| " + max + ")");
            }
        }
    }

    @Test
    void oneTrainingStepPerAggregatorAgreesWithJava() {
        for (Aggregator agg : Aggregator.values()) {
            Model mj = new Model(config(agg), JAVA, 7);
            Model mt = new Model(config(agg), tornado, 7);
            perturb(mj, 3);
            perturb(mt, 3);
            int[] in = tokens(B * S, 1), tg = tokens(B * S, 2);
            StepResult rj = mj.trainStep(in, tg, B, S);
            StepResult rt = mt.trainStep(in, tg, B, S);
            String k = agg.key();
            assertEquals(rj.loss(), rt.loss(), 1e-4 * Math.abs(rj.loss()), k + " loss");
            assertEquals(rj.balanceLoss(), rt.balanceLoss(), 1e-4 * Math.abs(rj.balanceLoss()) + 1e-7, k + " balance loss");
            assertEquals(rj.zLoss(), rt.zLoss(), 1e-4 * Math.abs(rj.zLoss()) + 1e-7, k + " z-loss");
            List<Parameter> pj = mj.parameters(), pt = mt.parameters();
            for (Parameter p : pt) tornado.toHost(p.grad());
            for (int i = 0; i < pj.size(); i++) {
                closeTo(pj.get(i).grad(), pt.get(i).grad(), k + " grad " + pj.get(i).name());
            }
            new AdamW(pj, 0.9f, 0.95f, 1e-8f, 0.1f, JAVA).step(1e-3f);
            new AdamW(pt, 0.9f, 0.95f, 1e-8f, 0.1f, tornado).step(1e-3f);
            for (Parameter p : pt) tornado.toHost(p.data());
            for (int i = 0; i < pj.size(); i++) {
                closeTo(pj.get(i).data(), pt.get(i).data(), k + " updated " + pj.get(i).name());
            }
            System.err.printf("tornado vs java %s: loss %.6f vs %.6f%n", k, rj.loss(), rt.loss());
        }
    }

    static double[] losses(Backend be, Aggregator agg, int steps) {
        Model m = new Model(config(agg), be, 11);
        AdamW opt = new AdamW(m.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, be);
        double[] out = new double[steps];
        for (int s = 0; s < steps; s++) {
            out[s] = m.trainStep(tokens(B * S, 100 + s), tokens(B * S, 200 + s), B, S).totalLoss();
            opt.step(3e-3f * Math.min(1f, (s + 1) / 5f)); // a changing learning rate must not recompile
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Double> total(Backend be) throws Exception {
        Map<String, Map<String, Double>> p = (Map<String, Map<String, Double>>) be.getClass().getMethod("profile").invoke(be);
        return p.get("total");
    }

    /**
     * Weights, optimizer moments and activations stay on the device: after a warm-up step, a whole training step
     * (forward, backward, AdamW) uploads only the tokens, targets and per-call scalars and downloads only losses and
     * metrics. Bounds per step after the first: H2D at most tokens + targets + 256 B per plan execution (the per-call
     * scalars) + 24 B per launch (TornadoVM's kernel-argument frame), D2H at most 1 KiB, and in all below 15% of
     * the weights' bytes for this small model (the ratio falls with model size; staging mode moves several copies
     * of the weights and activations per step). A checkpoint-style toHost of every weight
     * then downloads each exactly once and matches java's weights after the same steps.
     */
    @Test
    @SuppressWarnings("unchecked")
    void trainingStepKeepsWeightsAndMomentsOnTheDevice() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                (Boolean) tornado.getClass().getMethod("resident").invoke(tornado), "staging mode");
        ModelConfig c = ModelConfig.builder().set("vocab_size", 96).set("d_model", 48).set("n_heads", 2).set("n_layers", 2).set("seq_len", S).set("n_experts", 4).set("top_k", 2)
                .set("expert_hidden", 48).set("aggregator", Aggregator.DAG).set("dag.rounds", 2).set("dag.width", 16).build();
        Model mt = new Model(c, tornado, 5), mj = new Model(c, JAVA, 5);
        AdamW ot = new AdamW(mt.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, tornado);
        AdamW oj = new AdamW(mj.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, JAVA);
        long weightBytes = 0;
        for (Parameter p : mt.parameters()) weightBytes += 4L * p.size();
        int[] in = new int[B * S], tg = new int[B * S]; // refilled every step, as the trainer's batcher does
        double[] traffic = new double[3], up = new double[3], down = new double[3], calls = new double[3], launches = new double[3];
        for (int step = 0; step < 3; step++) {
            int[] a = tokens(B * S, 300 + step), b = tokens(B * S, 400 + step);
            for (int i = 0; i < in.length; i++) { in[i] = a[i] % 96; tg[i] = b[i] % 96; }
            tornado.getClass().getMethod("resetProfile").invoke(tornado);
            double lt = mt.trainStep(in, tg, B, S).totalLoss();
            ot.step(1e-3f);
            Map<String, Double> t = total(tornado);
            up[step] = t.get("bytes_in");
            down[step] = t.get("bytes_out");
            calls[step] = t.get("calls");
            launches[step] = ((Map<String, Long>) invoke("counts")).get("launches");
            traffic[step] = up[step] + down[step];
            double lj = mj.trainStep(in, tg, B, S).totalLoss();
            oj.step(1e-3f);
            assertEquals(lj, lt, 1e-4 * Math.abs(lj), "loss at step " + step);
            System.err.printf("resident step %d: H2D %.0f B, D2H %.0f B in %.0f executions (weights %d B)%n", step,
                    t.get("bytes_in"), t.get("bytes_out"), t.get("calls"), weightBytes);
        }
        assertTrue(traffic[0] > weightBytes, "the first step uploads the weights: " + traffic[0] + " vs " + weightBytes);
        for (int step = 1; step < 3; step++) {
            // Per launch TornadoVM writes its kernel-argument frame (24 B), per execution our per-call scalars.
            assertTrue(up[step] <= 8L * B * S + 256 * calls[step] + 24 * launches[step], "step " + step + " uploaded " + up[step]
                    + " B in " + calls[step] + " executions, " + launches[step] + " launches: more than tokens, targets, 256 B per"
                    + " execution and 24 B per launch");
            assertTrue(down[step] <= 1024, "step " + step + " downloaded " + down[step] + " B: more than losses and metrics");
            assertTrue(traffic[step] < 0.15 * weightBytes, "step " + step + " moved " + traffic[step]
                    + " bytes; the weights are " + weightBytes + " bytes and must stay on the device");
        }
        tornado.getClass().getMethod("resetProfile").invoke(tornado);
        List<Parameter> pt = mt.parameters(), pj = mj.parameters();
        for (int i = 0; i < pt.size(); i++) tornado.toHost(pt.get(i).data(), ot.m(i), ot.v(i));
        Map<String, Double> t = total(tornado);
        assertTrue(t.get("bytes_out") >= 3.0 * weightBytes && t.get("bytes_out") < 3.0 * weightBytes + 1024,
                "weights and both moments downloaded once each: " + t);
        for (int i = 0; i < pt.size(); i++) {
            closeTo(pj.get(i).data(), pt.get(i).data(), "weights after 3 steps " + pj.get(i).name());
            closeTo(oj.m(i), ot.m(i), "first moment " + pj.get(i).name());
        }
    }

    @Test
    void lossAfterTwentyStepsMatchesJava() {
        for (Aggregator agg : new Aggregator[] {Aggregator.DAG, Aggregator.SUM}) {
            double[] j = losses(JAVA, agg, 20), t = losses(tornado, agg, 20);
            System.err.printf("20 steps %s: java %.6f -> %.6f, tornado %.6f -> %.6f%n", agg.key(), j[0], j[19], t[0], t[19]);
            assertEquals(j[19], t[19], 1e-3 * Math.abs(j[19]), agg.key() + " loss after 20 steps");
            assertEquals(true, j[19] < j[0], agg.key() + ": the loss must fall");
        }
    }

    static final int STEP_GRAPH_STEPS = 8;

    @SuppressWarnings("unchecked")
    static <T> T invoke(String method) throws Exception {
        return (T) tornado.getClass().getMethod(method).invoke(tornado);
    }

    /**
     * Whole training steps as the trainer runs them on a backend that records operations (the step graph): statistics
     * left on the device ({@link Model#setDeferredStats}), the gradient clipped on the device, then the losses and the norm
     * read together ({@link Model#completeStats}) before AdamW is recorded. Against {@code java} (host statistics, host
     * clipping) step by step: losses, norms, and the weights after the steps; and the targets of the design on the steps
     * after the first: plan executions at most 2 × n_layers + 4, uploads at most the tokens, targets and 1 KiB, host
     * waits one per execution, one per upload of the tokens and the targets (TornadoVM's OpenCL backend writes Java
     * arrays blocking) and one for the step's reads, and no plan compiled after the second step (the plans do not
     * depend on the routing). Unprofiled, as the trainer runs it.
     */
    @Test
    void deferredStepsMatchJavaAndMeetTheTargets() throws Exception {
        assertTrue(tornado.defersReads(), "the step graph is the default");
        tornado.setProfiling(false);
        try {
            deferredSteps();
        } finally {
            tornado.setProfiling(true);
        }
    }

    private void deferredSteps() throws Exception {
        ModelConfig c = config(Aggregator.DAG);
        Model mt = new Model(c, tornado, 5), mj = new Model(c, JAVA, 5);
        perturb(mt, 3);
        perturb(mj, 3);
        mt.setDeferredStats(true);
        AdamW ot = new AdamW(mt.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, tornado);
        AdamW oj = new AdamW(mj.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, JAVA);
        int[] in = new int[B * S], tg = new int[B * S];
        double[] norm = new double[1];
        int plansAfterSecond = -1;
        for (int step = 0; step < STEP_GRAPH_STEPS; step++) {
            int[] a = tokens(B * S, 500 + step), b = tokens(B * S, 600 + step);
            System.arraycopy(a, 0, in, 0, in.length);
            System.arraycopy(b, 0, tg, 0, tg.length);
            float lr = 2e-3f * Math.min(1f, (step + 1) / 4f);
            invoke("resetProfile");
            StepResult pending = mt.trainStep(in, tg, B, S);
            assertTrue(Double.isNaN(pending.loss()) && pending.tokens() == B * S, "deferred: nothing read yet");
            GradClip.clipGlobalNorm(mt.parameters(), 0.5f, tornado, norm);
            StepResult rt = mt.completeStats(norm);
            ot.step(lr);
            Map<String, Long> counts = invoke("counts");
            StepResult rj = mj.trainStep(in, tg, B, S);
            double nj = GradClip.clipGlobalNorm(mj.parameters(), 0.5f, JAVA);
            oj.step(lr);
            assertEquals(rj.totalLoss(), rt.totalLoss(), 1e-4 * Math.abs(rj.totalLoss()), "loss at step " + step);
            assertEquals(rj.balanceLoss(), rt.balanceLoss(), 1e-4 * Math.abs(rj.balanceLoss()) + 1e-7, "balance loss " + step);
            assertEquals(nj, norm[0], 1e-3 * nj, "gradient norm at step " + step);
            System.err.printf("step graph, step %d: loss %.6f (java %.6f), norm %.5f (java %.5f), counts %s, plans %s%n", step,
                    rt.totalLoss(), rj.totalLoss(), norm[0], nj, counts, invoke("cachedPlans"));
            if (step >= 2) {
                // the step's counts include the previous step's AdamW, run when this step began
                assertTrue(counts.get("executions") <= 2 * c.nLayers() + 4, "executions at step " + step + ": " + counts);
                // tokens, targets and per-call floats (TornadoVM's per-launch argument frames are not data)
                assertTrue(counts.get("h2d_bytes") <= 8L * B * S + 1024, "uploads at step " + step + ": " + counts);
                assertTrue(counts.get("syncs") <= counts.get("executions") + 3, "host waits at step " + step + ": " + counts);
            }
            int plans = invoke("cachedPlans");
            if (step == 2) plansAfterSecond = plans;
            if (step > 2) assertEquals(plansAfterSecond, plans, "plans compiled at step " + step);
        }
        List<Parameter> pt = mt.parameters(), pj = mj.parameters();
        for (Parameter p : pt) tornado.toHost(p.data());
        for (int i = 0; i < pt.size(); i++) {
            closeTo(pj.get(i).data(), pt.get(i).data(), "weights after " + STEP_GRAPH_STEPS + " steps " + pj.get(i).name());
        }
    }
}
