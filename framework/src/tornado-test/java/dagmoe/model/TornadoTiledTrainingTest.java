package dagmoe.model;

import static dagmoe.model.StepCheck.B;
import static dagmoe.model.StepCheck.S;
import static dagmoe.model.StepCheck.config;
import static dagmoe.model.StepCheck.tokens;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dagmoe.backend.Backends;

/**
 * The training-step tests of {@link TornadoTrainingTest} (one step per aggregator against java, residency of a
 * step, loss after 20 steps for dag) with the tiled KernelContext matrix products forced on
 * ({@code -Ddagmoe.tornado.tiled=true}, which a CPU device such as PoCL does not pick by default), same
 * tolerances. Afterwards every matrix product must have run tiled: the profile has the tiled operations and none
 * of the portable ones.
 */
class TornadoTiledTrainingTest extends TornadoTrainingTest {

    @BeforeAll
    static void start() {
        String key = "dagmoe.tornado.tiled";
        String saved = System.getProperty(key);
        System.setProperty(key, "true");
        try {
            tornado = Backends.create("tornado", 1);
        } finally {
            if (saved == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, saved);
            }
        }
    }

    @AfterAll
    static void stop() {
        tornado.close();
    }

    /** The 20-step loss for dag only (sum's steps are covered by the one-step test): the tiled run is a second pass. */
    @Override
    @Test
    void lossAfterTwentyStepsMatchesJava() {
        double[] j = losses(JAVA, Aggregator.DAG, 20), t = losses(tornado, Aggregator.DAG, 20);
        System.err.printf("20 steps dag, tiled: java %.6f -> %.6f, tornado %.6f -> %.6f%n", j[0], j[19], t[0], t[19]);
        org.junit.jupiter.api.Assertions.assertEquals(j[19], t[19], 1e-3 * Math.abs(j[19]), "dag loss after 20 steps");
    }

    /** One training step after a profile reset: every matrix product of it ran as a tiled operation. */
    @Test
    void everyMatrixProductOfAStepRunsTiled() throws Exception {
        Model m = new Model(config(Aggregator.DAG), tornado, 7);
        tornado.getClass().getMethod("resetProfile").invoke(tornado);
        m.trainStep(tokens(B * S, 1), tokens(B * S, 2), B, S);
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Double>> p = (Map<String, Map<String, Double>>) tornado.getClass().getMethod("profile").invoke(tornado);
        double tiledCalls = 0;
        StringBuilder portable = new StringBuilder();
        for (Map.Entry<String, Map<String, Double>> e : p.entrySet()) {
            String op = e.getKey();
            if (op.startsWith("matmul") && op.contains("Tiled")) {
                tiledCalls += e.getValue().get("calls");
            } else if (op.startsWith("matmul")) {
                portable.append(op).append(' ');
            }
        }
        System.err.println("tiled matrix products in one dag training step: " + tiledCalls + " executions");
        assertTrue(tiledCalls >= 20, "the training step ran its matrix products tiled: " + p.keySet());
        assertTrue(portable.length() == 0, "no portable matrix product runs with tiled forced on: " + portable);
    }
}
