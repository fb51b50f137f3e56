package dagmoe.model;

import dagmoe.backend.Backend;

import java.util.ArrayList;
import java.util.List;

/**
 * What the {@code dag} aggregator's edge gates do, read from forwards of a model (for example a checkpoint on
 * validation batches): per MoE block and round, the edge gate of every node pair (i, j) of every token, averaged
 * over its d_g channels, {@code γ_tij = mean_c sigmoid(a_i + b_j)_c}, attributed to the EXPERT pair
 * (k[i], k[j]) that the router chose for the two nodes, and to the router-rank pair (i, j).
 *
 * <p>From these sums: the mean gate per expert pair (N×N) and per rank pair (K×K), the between-pair spread (the
 * standard deviation of the expert-pair means, count-weighted), the share of the per-token gate variance that the
 * expert pair explains (η², 0 = the gate depends on the token only, 1 = only on which experts meet), the
 * channel-level spread, the same expert-pair means from alternate observations (split-half consistency across
 * tokens), the size of each round's update relative to the nodes it updates, ‖x^r − x^{r−1}‖ / ‖x^{r−1}‖, and what the
 * rounds so far add to the sub-block's output relative to the weighted sum's part, ‖Σ_i (x_i^r − x_i^0)‖ / ‖Σ_i g_i Y_i‖.
 *
 * <p>Call {@link #observe} after every {@link Model#forward} to be counted; the model must be a dag model.
 */
public final class GateProbe {

    /** Accumulated sums of one MoE block and round. */
    public static final class Round {
        public final int block, round, n, k;
        final double[][] pairSum = new double[2][], pairSq = new double[2][]; // [half][N·N]
        final long[][] pairCount = new long[2][];
        final double[] rankSum;
        final long[] rankCount;
        double chanSum, chanSq;   // over every channel of every (token, i, j)
        long chanCount;
        double updateSq, nodeSq;  // Σ‖x^r − x^{r−1}‖², Σ‖x^{r−1}‖²
        double dagSq, sumSq;      // per token: Σ‖Σ_i (x_i^r − x_i^0)‖², Σ‖Σ_i g_i Y_i‖²

        Round(int block, int round, int n, int k) {
            this.block = block;
            this.round = round;
            this.n = n;
            this.k = k;
            for (int h = 0; h < 2; h++) {
                pairSum[h] = new double[n * n];
                pairSq[h] = new double[n * n];
                pairCount[h] = new long[n * n];
            }
            rankSum = new double[k * k];
            rankCount = new long[k * k];
        }

        /** Observations (token, i, j) of expert pair (a, b), both halves. */
        public long count(int a, int b) { return pairCount[0][a * n + b] + pairCount[1][a * n + b]; }

        /** Mean gate of expert pair a→b (NaN when the pair never met); half 0, 1 or -1 for both. */
        public double pairMean(int a, int b, int half) {
            int q = a * n + b;
            double s = half < 0 ? pairSum[0][q] + pairSum[1][q] : pairSum[half][q];
            long c = half < 0 ? pairCount[0][q] + pairCount[1][q] : pairCount[half][q];
            return c == 0 ? Double.NaN : s / c;
        }

        /** The N×N expert-pair means, row-major (a·N + b). */
        public double[] pairMeans(int half) {
            double[] m = new double[n * n];
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) m[a * n + b] = pairMean(a, b, half);
            return m;
        }

        /** Mean gate of router-rank pair i→j. */
        public double rankMean(int i, int j) {
            long c = rankCount[i * k + j];
            return c == 0 ? Double.NaN : rankSum[i * k + j] / c;
        }

        long total() {
            long t = 0;
            for (int h = 0; h < 2; h++) for (long c : pairCount[h]) t += c;
            return t;
        }

        /** Mean of the per-(token, pair) gate γ. */
        public double mean() {
            double s = 0;
            for (int h = 0; h < 2; h++) for (double v : pairSum[h]) s += v;
            return s / total();
        }

        /** Standard deviation of γ over every (token, i, j). */
        public double sdTokens() {
            double s = 0, q = 0;
            for (int h = 0; h < 2; h++) for (int p = 0; p < n * n; p++) { s += pairSum[h][p]; q += pairSq[h][p]; }
            long t = total();
            return Math.sqrt(Math.max(0, q / t - (s / t) * (s / t)));
        }

        /** Count-weighted standard deviation of the expert-pair means (the between-pair spread). */
        public double sdPairs() {
            double m = mean(), v = 0;
            for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) {
                long c = count(a, b);
                if (c > 0) v += c * Math.pow(pairMean(a, b, -1) - m, 2);
            }
            return Math.sqrt(v / total());
        }

        /** η²: the share of the variance of γ explained by the expert pair (between-pair / total). */
        public double etaSquared() {
            double tot = sdTokens();
            return tot == 0 ? 0 : Math.pow(sdPairs() / tot, 2);
        }

        /** Standard deviation of the gate over every channel of every (token, i, j). */
        public double sdChannels() {
            double m = chanSum / chanCount;
            return Math.sqrt(Math.max(0, chanSq / chanCount - m * m));
        }

        /** ‖x^r − x^{r−1}‖ / ‖x^{r−1}‖ over all nodes observed. */
        public double updateRatio() { return nodeSq == 0 ? 0 : Math.sqrt(updateSq / nodeSq); }

        /**
         * What rounds 0..r have added to the sub-block's output, relative to the weighted sum's part of it:
         * ‖Σ_i (x_i^r − x_i^0)‖ / ‖Σ_i g_i Y_i‖ per token, over all tokens observed (0 = the block is a sum block).
         */
        public double contributionRatio() { return sumSq == 0 ? 0 : Math.sqrt(dagSq / sumSq); }
    }

    private final List<MoeDag> dags = new ArrayList<>();
    private final List<Round> rounds = new ArrayList<>();
    private long observations;

    public GateProbe(Model model) {
        int b = 0;
        for (FeedForward f : model.moeFeedForwards()) {
            if (!(f instanceof MoeDag dag)) {
                throw new IllegalArgumentException("GateProbe needs a dag model (model.aggregator = " + model.config().aggregator() + ")");
            }
            dags.add(dag);
            for (int r = 0; r < dag.rounds; r++) rounds.add(new Round(b, r, dag.N, dag.K));
            b++;
        }
    }

    public List<Round> rounds() { return rounds; }

    /** Counts the model's last forward of T tokens (alternate calls go to the two halves). */
    public void observe(Model model, int T) {
        Backend be = model.backend();
        int half = (int) (observations++ % 2);
        int idx = 0;
        for (MoeDag dag : dags) {
            int K = dag.K, N = dag.N, g = dag.g, d = dag.d;
            dag.routingToHost(be);
            int[] top = dag.routing(T)[0];
            for (int r = 0; r < dag.rounds; r++) {
                Round st = rounds.get(idx++);
                float[] p = dag.P[r], x0 = dag.X[r], x1 = dag.X[r + 1];
                be.toHost(p, x0, x1);
                for (int t = 0; t < T; t++) {
                    for (int i = 0; i < K; i++) {
                        int ri = (t * K + i) * 4 * g;
                        for (int j = 0; j < K; j++) {
                            int rj = (t * K + j) * 4 * g + g; // b_j
                            double s = 0;
                            for (int c = 0; c < g; c++) {
                                double e = 1.0 / (1.0 + Math.exp(-(p[ri + c] + p[rj + c])));
                                s += e;
                                st.chanSq += e * e;
                            }
                            st.chanSum += s;
                            st.chanCount += g;
                            double gm = s / g;
                            int q = top[t * K + i] * N + top[t * K + j];
                            st.pairSum[half][q] += gm;
                            st.pairSq[half][q] += gm * gm;
                            st.pairCount[half][q]++;
                            st.rankSum[i * K + j] += gm;
                            st.rankCount[i * K + j]++;
                        }
                    }
                }
                for (int q = 0; q < T * K * d; q++) {
                    double u = x1[q] - x0[q];
                    st.updateSq += u * u;
                    st.nodeSq += (double) x0[q] * x0[q];
                }
                float[] first = dag.X[0], gy = dag.gy;
                be.toHost(first, gy);
                for (int t = 0; t < T; t++) {
                    for (int q = 0; q < d; q++) {
                        double a = 0, y = 0;
                        for (int i = 0; i < K; i++) {
                            int o = (t * K + i) * d + q;
                            a += x1[o] - first[o];
                            y += gy[o];
                        }
                        st.dagSq += a * a;
                        st.sumSq += y * y;
                    }
                }
            }
        }
    }
}
