package dagmoe.model;

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
 * Whole training steps as the trainer runs them on a backend that records operations (the step graph): statistics
 * left on the device ({@link Model#setDeferredStats}), the gradient clipped on the device, then the losses and the norm
 * read together ({@link Model#completeStats}) before AdamW is recorded. Against {@code java} (host statistics, host
 * clipping) step by step: losses, norms, and the weights after the steps; and the targets of the design on the steps
 * after the first: plan executions at most 2 × n_layers + 4, uploads at most the tokens, targets and 1 KiB, and no
 * plan compiled after the second step (the plans do not depend on the routing).
 */
class TornadoStepGraphTest {
    static final int B = 2, S = 8, STEPS = 8;
    static Backend tornado;
    static final Backend JAVA = Backends.create("java", 1);

    @BeforeAll
    static void start() {
        tornado = Backends.create("tornado", 1);
    }

    @AfterAll
    static void stop() {
        tornado.close();
    }

    @SuppressWarnings("unchecked")
    static <T> T call(String method) throws Exception {
        return (T) tornado.getClass().getMethod(method).invoke(tornado);
    }

    @Test
    void deferredStepsMatchJavaAndMeetTheTargets() throws Exception {
        assertTrue(tornado.defersReads(), "the step graph is the default");
        ModelConfig c = TornadoTrainingTest.config(Aggregator.DAG);
        Model mt = new Model(c, tornado, 5), mj = new Model(c, JAVA, 5);
        TornadoTrainingTest.perturb(mt, 3);
        TornadoTrainingTest.perturb(mj, 3);
        mt.setDeferredStats(true);
        AdamW ot = new AdamW(mt.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, tornado);
        AdamW oj = new AdamW(mj.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, JAVA);
        int[] in = new int[B * S], tg = new int[B * S];
        double[] norm = new double[1];
        int plansAfterSecond = -1;
        for (int step = 0; step < STEPS; step++) {
            int[] a = TornadoTrainingTest.tokens(B * S, 500 + step), b = TornadoTrainingTest.tokens(B * S, 600 + step);
            System.arraycopy(a, 0, in, 0, in.length);
            System.arraycopy(b, 0, tg, 0, tg.length);
            float lr = 2e-3f * Math.min(1f, (step + 1) / 4f);
            call("resetProfile");
            StepResult pending = mt.trainStep(in, tg, B, S);
            assertTrue(Double.isNaN(pending.loss()) && pending.tokens() == B * S, "deferred: nothing read yet");
            GradClip.clipGlobalNorm(mt.parameters(), 0.5f, tornado, norm);
            StepResult rt = mt.completeStats(norm);
            ot.step(lr);
            Map<String, Long> counts = call("counts");
            StepResult rj = mj.trainStep(in, tg, B, S);
            double nj = GradClip.clipGlobalNorm(mj.parameters(), 0.5f, JAVA);
            oj.step(lr);
            assertEquals(rj.totalLoss(), rt.totalLoss(), 1e-4 * Math.abs(rj.totalLoss()), "loss at step " + step);
            assertEquals(rj.balanceLoss(), rt.balanceLoss(), 1e-4 * Math.abs(rj.balanceLoss()) + 1e-7, "balance loss " + step);
            assertEquals(nj, norm[0], 1e-3 * nj, "gradient norm at step " + step);
            System.err.printf("step graph, step %d: loss %.6f (java %.6f), norm %.5f (java %.5f), counts %s, plans %s%n", step,
                    rt.totalLoss(), rj.totalLoss(), norm[0], nj, counts, call("cachedPlans"));
            if (step >= 2) {
                // the step's counts include the previous step's AdamW, run when this step began
                assertTrue(counts.get("executions") <= 2 * c.nLayers() + 4, "executions at step " + step + ": " + counts);
                assertTrue(counts.get("h2d_bytes") <= 8L * B * S + 1024, "uploads at step " + step + ": " + counts);
            }
            int plans = call("cachedPlans");
            if (step == 2) plansAfterSecond = plans;
            if (step > 2) assertEquals(plansAfterSecond, plans, "plans compiled at step " + step);
        }
        List<Parameter> pt = mt.parameters(), pj = mj.parameters();
        for (Parameter p : pt) tornado.toHost(p.data());
        for (int i = 0; i < pt.size(); i++) {
            TornadoTrainingTest.closeTo(pj.get(i).data(), pt.get(i).data(), "weights after " + STEPS + " steps " + pj.get(i).name());
        }
    }
}
