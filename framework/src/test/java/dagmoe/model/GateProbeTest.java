package dagmoe.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GateProbeTest {

    /** One token: every expert-pair mean is that token's gate, recomputed here naively from the nodes and weights. */
    @Test
    void oneTokenGatesMatchANaiveRecomputation() {
        ModelConfig c = Tiny.config(Aggregator.DAG).build();
        Model m = new Model(c, Tiny.JAVA, 3);
        Tiny.randomize(m, 0.5, 11);
        int[] tok = Tiny.tokens(1, c.vocabSize(), 5);
        m.forward(tok, null, 1, 1);
        GateProbe probe = new GateProbe(m);
        probe.observe(m, 1);
        int[][] routing = m.routingSnapshot();
        int K = c.topK(), g = c.dagWidth(), d = c.dModel();
        int idx = 0;
        for (int b = 0; b < c.moeLayers(); b++) {
            MoeDag dag = (MoeDag) m.moeFeedForwards().get(b);
            for (int r = 0; r < c.dagRounds(); r++) {
                GateProbe.Round st = probe.rounds().get(idx++);
                assertEquals(b, st.block);
                assertEquals(r, st.round);
                double[][] z = new double[K][g];
                for (int i = 0; i < K; i++) {
                    double ms = 0;
                    for (int q = 0; q < d; q++) ms += Math.pow(dag.X[r][i * d + q], 2);
                    double rs = 1 / Math.sqrt(ms / d + c.normEps());
                    float[] scale = m.parameter("layers." + b + ".moe.dag." + r + ".norm").data();
                    float[] wd = m.parameter("layers." + b + ".moe.dag." + r + ".w_down").data();
                    for (int o = 0; o < g; o++) {
                        double s = 0;
                        for (int q = 0; q < d; q++) s += wd[o * d + q] * dag.X[r][i * d + q] * rs * scale[q];
                        z[i][o] = s;
                    }
                }
                float[] A = m.parameter("layers." + b + ".moe.dag." + r + ".a").data();
                float[] B = m.parameter("layers." + b + ".moe.dag." + r + ".b").data();
                double update = 0, node = 0;
                for (int q = 0; q < K * d; q++) {
                    update += Math.pow(dag.X[r + 1][q] - dag.X[r][q], 2);
                    node += Math.pow(dag.X[r][q], 2);
                }
                for (int i = 0; i < K; i++) {
                    for (int j = 0; j < K; j++) {
                        double s = 0;
                        for (int o = 0; o < g; o++) {
                            double a = 0, bb = 0;
                            for (int q = 0; q < g; q++) {
                                a += A[o * g + q] * z[i][q];
                                bb += B[o * g + q] * z[j][q];
                            }
                            s += 1 / (1 + Math.exp(-(a + bb)));
                        }
                        int ei = routing[b][i], ej = routing[b][j];
                        assertEquals(s / g, st.pairMean(ei, ej, -1), 1e-5, "block " + b + " round " + r + " pair " + i + "," + j);
                        assertEquals(s / g, st.rankMean(i, j), 1e-5);
                        assertEquals(1, st.count(ei, ej));
                    }
                }
                assertEquals(Math.sqrt(update / node), st.updateRatio(), 1e-6);
                // one token: ‖Σ_i (x_i^{r+1} − x_i^0)‖ / ‖Σ_i g_i Y_i‖, the sum part rebuilt from the expert weights' output
                double dagPart = 0, sumPart = 0;
                for (int q = 0; q < d; q++) {
                    double a = 0, y = 0;
                    for (int i = 0; i < K; i++) {
                        a += dag.X[r + 1][i * d + q] - dag.X[0][i * d + q];
                        y += dag.gy[i * d + q];
                    }
                    dagPart += a * a;
                    sumPart += y * y;
                }
                assertEquals(Math.sqrt(dagPart / sumPart), st.contributionRatio(), 1e-6);
                assertTrue(st.contributionRatio() > 0);
            }
        }
    }

    /** Rank-pair means agree with the kernel's own gate means; counts, halves and the variance split add up. */
    @Test
    void aggregatesAgreeWithTheKernelsGateMeans() {
        ModelConfig c = Tiny.config(Aggregator.DAG).build();
        Model m = new Model(c, Tiny.JAVA, 3);
        Tiny.randomize(m, 0.3, 12);
        GateProbe probe = new GateProbe(m);
        int B = 3, S = 6, T = B * S;
        float[][][] kernel = null;
        for (int rep = 0; rep < 2; rep++) {
            kernel = m.forward(Tiny.tokens(T, c.vocabSize(), 40), null, B, S).gateMeans(); // same tokens twice
            probe.observe(m, T);
        }
        int K = c.topK(), N = c.nExperts();
        for (GateProbe.Round st : probe.rounds()) {
            long n = 0, diagonal = 0;
            double weighted = 0;
            for (int a = 0; a < N; a++) for (int b = 0; b < N; b++) {
                n += st.count(a, b);
                if (st.count(a, b) > 0) {
                    weighted += st.count(a, b) * st.pairMean(a, b, -1);
                    // the same tokens in both halves: both halves give the same means
                    assertEquals(st.pairMean(a, b, 0), st.pairMean(a, b, 1), 1e-12);
                }
                if (a == b) diagonal += st.count(a, b);
            }
            assertEquals(2L * T * K * K, n);
            // top-K experts are distinct: an expert meets itself only on the self-edges i = j
            assertEquals(2L * T * K, diagonal);
            assertEquals(st.mean(), weighted / n, 1e-12);
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++)
                    assertEquals(kernel[st.block][st.round][i * K + j], st.rankMean(i, j), 2e-6);
            assertTrue(st.sdPairs() <= st.sdTokens() + 1e-12);
            assertTrue(st.etaSquared() >= 0 && st.etaSquared() <= 1 + 1e-9);
            assertTrue(st.sdChannels() > 0);
        }
    }

    @Test
    void zeroUpProjectionMeansNoUpdateAndASumModelIsRefused() {
        ModelConfig c = Tiny.config(Aggregator.DAG).build();
        Model m = new Model(c, Tiny.JAVA, 3); // w_up is zero-initialised
        m.forward(Tiny.tokens(12, c.vocabSize(), 1), null, 2, 6);
        GateProbe probe = new GateProbe(m);
        probe.observe(m, 12);
        for (GateProbe.Round st : probe.rounds()) {
            assertEquals(0, st.updateRatio());
            assertEquals(0, st.contributionRatio());
        }
        Model sum = new Model(Tiny.config(Aggregator.SUM).build(), Tiny.JAVA, 3);
        assertThrows(IllegalArgumentException.class, () -> new GateProbe(sum));
    }
}
