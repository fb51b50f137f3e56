package dagmoe.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.backend.JavaBackend;
import dagmoe.backend.OpCases;

/** The selftest's training-step check: cpu agrees with java for every aggregator; a wrong activation or loss fails it. */
class StepCheckTest {

    @Test
    void cpuAgreesWithJavaForEveryAggregator() {
        try (Backend cpu = Backends.create("cpu", 2)) {
            for (Aggregator agg : Aggregator.values()) {
                List<OpCases.Row> rows = StepCheck.check(agg, cpu, Tiny.JAVA);
                assertEquals(5, rows.size());
                for (OpCases.Row r : rows) assertTrue(r.pass(), r.op() + " " + r.shape() + ": " + r.diff().detail());
            }
        }
    }

    @Test
    void aWrongActivationFailsTheGradientsAndAWrongLossTheLoss() {
        Backend broken = new JavaBackend() {
            @Override
            public String name() {
                return "tornado"; // judged with a device's tolerance
            }

            @Override
            public void swigluForward(float[] gate, float[] up, float[] out, int n) {
                super.swigluForward(gate, up, out, n);
                for (int i = 0; i < n; i++) out[i] *= 1.01f; // 1% off: far beyond float rounding
            }

            @Override
            public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
                super.crossEntropyForward(logits, targets, loss, lse, T, V);
                for (int t = 0; t < T; t++) loss[t] *= 1.001f; // the reported loss 1e-3 high (the backward does not use it)
            }
        };
        List<OpCases.Row> rows = StepCheck.check(Aggregator.SUM, broken, Tiny.JAVA);
        assertTrue(rows.stream().anyMatch(r -> r.op().equals("step sum loss") && !r.pass()), rows.toString());
        assertTrue(rows.stream().anyMatch(r -> r.op().equals("step sum gradients") && !r.pass()), rows.toString());
    }
}
