package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The DAG pairwise step's backward and edge-gate statistics for the cpu backend, vectorised over the g
 * channels. p[T·K × 4g] = [a | b | c | e] per node (e is the fourth projection D·z), edge gate
 * σ(a_i + b_j), message c_i + e_j.
 *
 * <p>The K² gates of a token are factored through the K exponentials of each side: σ(a_i + b_j) =
 * 1 / (1 + e^(−a_i)·e^(−b_j)), so a token takes 2·K·g exponentials ({@link #expNeg}) instead of K²·g, and a gate
 * is one multiply, one add and one division. The product cannot overflow or underflow while every |a|, |b| of
 * the token is at most {@value #FACTOR_LIMIT} (e^80 is a normal float); a token with a larger (or non-finite)
 * value takes the direct form 1/(1 + e^(−(a+b))) for all its gates. Either way the result is within a few ulp of
 * the portable kernels' Math.exp form. Exponentials use {@link Vec#exp(FloatVector)} and its scalar twin for the
 * channel tail, so an element's bits do not depend on where the vector body ends, and every method here
 * evaluates a gate with the same operations: the forward, its gate statistics and the backward see the same bits.
 */
public final class DagCpu {
    private DagCpu() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;

    /** Largest |a|, |b| for which a token's gates are factored (see the class comment). */
    static final float FACTOR_LIMIT = 40f;

    /**
     * ex[i·g + c] = e^(−a_i[c]) and ex[(K + i)·g + c] = e^(−b_i[c]) for the K nodes of token t; false (and ex
     * not filled) when some |a| or |b| of the token exceeds {@link #FACTOR_LIMIT} or is NaN, so its gates take
     * the direct form.
     */
    static boolean expNeg(float[] p, int t, int K, int g, float[] ex) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int i = 0; i < K; i++) {
            int row = (t * K + i) * w;
            for (int c = 0; c < 2 * g; c++) {
                float v = p[row + c];
                if (!(Math.abs(v) <= FACTOR_LIMIT)) return false;
            }
        }
        for (int i = 0; i < K; i++) {
            int row = (t * K + i) * w;
            for (int half = 0; half < 2; half++) {
                int src = row + half * g, dst = (half * K + i) * g;
                for (int c = 0; c < gv; c += L) {
                    Vec.exp(FloatVector.fromArray(SP, p, src + c).neg()).intoArray(ex, dst + c);
                }
                for (int c = gv; c < g; c++) {
                    ex[dst + c] = Vec.exp(-p[src + c]);
                }
            }
        }
        return true;
    }

    /** The gate of lanes c.. of pair (i, j) of a token: factored (ex from {@link #expNeg}) or direct. */
    private static FloatVector gate(boolean factored, float[] ex, int eaI, int ebJ, float[] p, int rowI, int rowJb, int c) {
        if (factored) {
            return ONE.div(FloatVector.fromArray(SP, ex, eaI + c).mul(FloatVector.fromArray(SP, ex, ebJ + c)).add(1f));
        }
        return Vec.sigmoid(FloatVector.fromArray(SP, p, rowI + c).add(FloatVector.fromArray(SP, p, rowJb + c)));
    }

    /** The scalar twin of {@link #gate(boolean, float[], int, int, float[], int, int, int)}: the same bits as a lane. */
    private static float gate1(boolean factored, float[] ex, int eaI, int ebJ, float[] p, int rowI, int rowJb, int c) {
        if (factored) {
            return 1f / (ex[eaI + c] * ex[ebJ + c] + 1f);
        }
        return Vec.sigmoid(p[rowI + c] + p[rowJb + c]);
    }

    private static final FloatVector ONE = FloatVector.broadcast(SP, 1f);

    /** Scratch for {@link #expNeg}: 2·K·g floats. */
    public static float[] expScratch(int K, int g) {
        return new float[2 * K * g];
    }

    /**
     * dp += gradients for tokens [t0, t1) given dOut[T·K × g]. Each ordered pair (i, j) evaluates its gate
     * s = σ(a_i + b_j) once; with q = dOut_i and m = c_i + e_j the pair adds q·m·s·(1−s) to da_i and db_j and
     * q·s to dc_i and de_j. Pairs run with i outer, j inner, so da_n, dc_n sum over j and db_n, de_n over i
     * in increasing order, the portable kernel's order; the per-node totals are added to dp once, as there.
     * {@code acc} is scratch of at least K·4g floats, {@code ex} of {@link #expScratch}.
     */
    public static void pairwiseBackward(float[] p, float[] dOut, float[] dp, int t0, int t1, int K, int g, float[] acc, float[] ex) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int t = t0; t < t1; t++) {
            int slot0 = t * K;
            boolean f = expNeg(p, t, K, g, ex);
            java.util.Arrays.fill(acc, 0, K * w, 0f);
            for (int i = 0; i < K; i++) {
                int rowI = (slot0 + i) * w;
                int qI = (slot0 + i) * g;
                int accI = i * w;
                int eaI = i * g;
                // channels outer, j inner: da_i and dc_i stay in registers over j (the same additions in the same
                // order as summing into acc), db_j and de_j are summed into acc over i in increasing order
                for (int c = 0; c < gv; c += L) {
                    FloatVector q = FloatVector.fromArray(SP, dOut, qI + c);
                    FloatVector cI = FloatVector.fromArray(SP, p, rowI + 2 * g + c);
                    FloatVector dA = FloatVector.zero(SP), dC = dA;
                    for (int j = 0; j < K; j++) {
                        int rowJ = (slot0 + j) * w;
                        int accJ = j * w;
                        FloatVector s = gate(f, ex, eaI, (K + j) * g, p, rowI, rowJ + g, c);
                        FloatVector m = cI.add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        FloatVector gm = q.mul(m).mul(s).mul(s.neg().add(1f)); // ((q·m)·s)·(1−s)
                        FloatVector gs = q.mul(s);
                        dA = dA.add(gm);
                        dC = dC.add(gs);
                        FloatVector.fromArray(SP, acc, accJ + g + c).add(gm).intoArray(acc, accJ + g + c);       // db_j
                        FloatVector.fromArray(SP, acc, accJ + 3 * g + c).add(gs).intoArray(acc, accJ + 3 * g + c); // de_j
                    }
                    dA.intoArray(acc, accI + c);          // da_i
                    dC.intoArray(acc, accI + 2 * g + c);  // dc_i
                }
                for (int c = gv; c < g; c++) {
                    float q = dOut[qI + c];
                    float dA = 0f, dC = 0f;
                    for (int j = 0; j < K; j++) {
                        int rowJ = (slot0 + j) * w;
                        int accJ = j * w;
                        float s = gate1(f, ex, eaI, (K + j) * g, p, rowI, rowJ + g, c);
                        float m = p[rowI + 2 * g + c] + p[rowJ + 3 * g + c];
                        float gm = q * m * s * (1f - s);
                        float gs = q * s;
                        dA += gm;
                        dC += gs;
                        acc[accJ + g + c] += gm;
                        acc[accJ + 3 * g + c] += gs;
                    }
                    acc[accI + c] = dA;
                    acc[accI + 2 * g + c] = dC;
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
        float[] ex = expScratch(K, g);
        for (int t = t0; t < t1; t++) {
            boolean f = expNeg(p, t, K, g, ex);
            for (int i = 0; i < K; i++) {
                int rowI = (t * K + i) * w;
                int o = (t * K + i) * g;
                java.util.Arrays.fill(out, o, o + g, 0f);
                for (int j = 0; j < K; j++) {
                    int rowJ = (t * K + j) * w;
                    int eaI = i * g, ebJ = (K + j) * g;
                    FloatVector gates = FloatVector.zero(SP);
                    for (int c = 0; c < gv; c += L) {
                        FloatVector gate = gate(f, ex, eaI, ebJ, p, rowI, rowJ + g, c);
                        FloatVector msg = FloatVector.fromArray(SP, p, rowI + 2 * g + c).add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        gate.mul(msg).add(FloatVector.fromArray(SP, out, o + c)).intoArray(out, o + c);
                        gates = gates.add(gate);
                    }
                    float perToken = gv > 0 ? Vec.sumLanes(gates) : 0f;
                    for (int c = gv; c < g; c++) {
                        float gate = gate1(f, ex, eaI, ebJ, p, rowI, rowJ + g, c);
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
        float[] ex = expScratch(K, g);
        for (int ch = chunk0; ch < chunk1; ch++) {
            int t1 = Math.min(T, (ch + 1) * GATE_CHUNK);
            int out = ch * K * K;
            for (int i = 0; i < K * K; i++) {
                part[out + i] = 0.0;
            }
            for (int t = ch * GATE_CHUNK; t < t1; t++) {
                boolean f = expNeg(p, t, K, g, ex);
                for (int i = 0; i < K; i++) {
                    int rowI = (t * K + i) * w;
                    for (int j = 0; j < K; j++) {
                        int rowJ = (t * K + j) * w;
                        int eaI = i * g, ebJ = (K + j) * g;
                        float perToken = 0f;
                        if (gv > 0) {
                            FloatVector sum = FloatVector.zero(SP);
                            for (int c = 0; c < gv; c += L) {
                                sum = sum.add(gate(f, ex, eaI, ebJ, p, rowI, rowJ + g, c));
                            }
                            perToken = Vec.sumLanes(sum);
                        }
                        for (int c = gv; c < g; c++) {
                            perToken += gate1(f, ex, eaI, ebJ, p, rowI, rowJ + g, c);
                        }
                        part[out + i * K + j] += (double) perToken / g;
                    }
                }
            }
        }
    }
}
