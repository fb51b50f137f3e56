package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The DAG pairwise step's backward and edge-gate statistics for the cpu backend, vectorised over the g
 * channels. p[T·K × 4g] = [a | b | c | e] per node (e is the fourth projection D·z), edge gate
 * σ(a_i + b_j), message c_i + e_j. Sigmoids use {@link Vec#sigmoid(FloatVector)} (within a few ulp of the
 * portable kernels' Math.exp form); the scalar channel tail uses the scalar twin, so an element's bits do not
 * depend on where the vector body ends.
 */
public final class DagCpu {
    private DagCpu() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;

    /**
     * dp += gradients for tokens [t0, t1) given dOut[T·K × g]. Each ordered pair (i, j) evaluates its gate
     * s = σ(a_i + b_j) once; with q = dOut_i and m = c_i + e_j the pair adds q·m·s·(1−s) to da_i and db_j and
     * q·s to dc_i and de_j. Pairs run with i outer, j inner, so da_n, dc_n sum over j and db_n, de_n over i
     * in increasing order, the portable kernel's order; the per-node totals are added to dp once, as there.
     * {@code acc} is scratch of at least K·4g floats.
     */
    public static void pairwiseBackward(float[] p, float[] dOut, float[] dp, int t0, int t1, int K, int g, float[] acc) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int t = t0; t < t1; t++) {
            int slot0 = t * K;
            java.util.Arrays.fill(acc, 0, K * w, 0f);
            for (int i = 0; i < K; i++) {
                int rowI = (slot0 + i) * w;
                int qI = (slot0 + i) * g;
                int accI = i * w;
                for (int j = 0; j < K; j++) {
                    int rowJ = (slot0 + j) * w;
                    int accJ = j * w;
                    for (int c = 0; c < gv; c += L) {
                        FloatVector s = Vec.sigmoid(FloatVector.fromArray(SP, p, rowI + c).add(FloatVector.fromArray(SP, p, rowJ + g + c)));
                        FloatVector m = FloatVector.fromArray(SP, p, rowI + 2 * g + c).add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        FloatVector q = FloatVector.fromArray(SP, dOut, qI + c);
                        FloatVector gm = q.mul(m).mul(s).mul(s.neg().add(1f)); // ((q·m)·s)·(1−s)
                        FloatVector gs = q.mul(s);
                        FloatVector.fromArray(SP, acc, accI + c).add(gm).intoArray(acc, accI + c);               // da_i
                        FloatVector.fromArray(SP, acc, accI + 2 * g + c).add(gs).intoArray(acc, accI + 2 * g + c); // dc_i
                        FloatVector.fromArray(SP, acc, accJ + g + c).add(gm).intoArray(acc, accJ + g + c);       // db_j
                        FloatVector.fromArray(SP, acc, accJ + 3 * g + c).add(gs).intoArray(acc, accJ + 3 * g + c); // de_j
                    }
                    for (int c = gv; c < g; c++) {
                        float s = Vec.sigmoid(p[rowI + c] + p[rowJ + g + c]);
                        float m = p[rowI + 2 * g + c] + p[rowJ + 3 * g + c];
                        float q = dOut[qI + c];
                        float gm = q * m * s * (1f - s);
                        float gs = q * s;
                        acc[accI + c] += gm;
                        acc[accI + 2 * g + c] += gs;
                        acc[accJ + g + c] += gm;
                        acc[accJ + 3 * g + c] += gs;
                    }
                }
            }
            Vec.add(acc, 0, dp, slot0 * w, K * w);
        }
    }

    /**
     * out[(t·K+i)×g] = Σ_j σ(a_i + b_j) ⊙ (c_i + e_j) for tokens [t0, t1), j in increasing order. With
     * {@code gateSums} non-null, also gateSums[i·K+j] += Σ over these tokens, in order, of mean_c σ(a_i + b_j)
     * (double; a token's channel sum as in {@link #gateMeanPartials}, so the bits equal that method's).
     */
    public static void pairwiseForward(float[] p, float[] out, int t0, int t1, int K, int g, double[] gateSums, int sumsOff) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int t = t0; t < t1; t++) {
            for (int i = 0; i < K; i++) {
                int rowI = (t * K + i) * w;
                int o = (t * K + i) * g;
                java.util.Arrays.fill(out, o, o + g, 0f);
                for (int j = 0; j < K; j++) {
                    int rowJ = (t * K + j) * w;
                    FloatVector gates = FloatVector.zero(SP);
                    for (int c = 0; c < gv; c += L) {
                        FloatVector gate = Vec.sigmoid(FloatVector.fromArray(SP, p, rowI + c).add(FloatVector.fromArray(SP, p, rowJ + g + c)));
                        FloatVector msg = FloatVector.fromArray(SP, p, rowI + 2 * g + c).add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        gate.mul(msg).add(FloatVector.fromArray(SP, out, o + c)).intoArray(out, o + c);
                        gates = gates.add(gate);
                    }
                    float perToken = gv > 0 ? Vec.sumLanes(gates) : 0f;
                    for (int c = gv; c < g; c++) {
                        float gate = Vec.sigmoid(p[rowI + c] + p[rowJ + g + c]);
                        out[o + c] += gate * (p[rowI + 2 * g + c] + p[rowJ + 3 * g + c]);
                        perToken += gate;
                    }
                    if (gateSums != null) {
                        gateSums[sumsOff + i * K + j] += (double) perToken / g;
                    }
                }
            }
        }
    }

    /** Tokens per chunk of {@link #gateMeanPartials}: fixed, so the partial sums do not depend on the thread count. */
    public static final int GATE_CHUNK = 64;

    /**
     * part[chunk·K·K + i·K + j] = Σ over the tokens of chunk (GATE_CHUNK tokens from chunk·GATE_CHUNK) of
     * mean_c σ(a_i + b_j), in double, tokens in order; the channel sum of one token is a float sum of the
     * lanes (lane order) and then the tail.
     */
    public static void gateMeanPartials(float[] p, double[] part, int chunk0, int chunk1, int T, int K, int g) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int ch = chunk0; ch < chunk1; ch++) {
            int t1 = Math.min(T, (ch + 1) * GATE_CHUNK);
            int out = ch * K * K;
            for (int i = 0; i < K * K; i++) {
                part[out + i] = 0.0;
            }
            for (int t = ch * GATE_CHUNK; t < t1; t++) {
                for (int i = 0; i < K; i++) {
                    int rowI = (t * K + i) * w;
                    for (int j = 0; j < K; j++) {
                        int rowJ = (t * K + j) * w;
                        float perToken = 0f;
                        if (gv > 0) {
                            FloatVector sum = FloatVector.zero(SP);
                            for (int c = 0; c < gv; c += L) {
                                sum = sum.add(Vec.sigmoid(FloatVector.fromArray(SP, p, rowI + c).add(FloatVector.fromArray(SP, p, rowJ + g + c))));
                            }
                            perToken = Vec.sumLanes(sum);
                        }
                        for (int c = gv; c < g; c++) {
                            perToken += Vec.sigmoid(p[rowI + c] + p[rowJ + g + c]);
                        }
                        part[out + i * K + j] += (double) perToken / g;
                    }
                }
            }
        }
    }
}
