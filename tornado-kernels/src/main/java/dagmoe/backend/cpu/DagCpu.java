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
        for (int i = 0; i < K; i++) {
            int row = (t * K + i) * w;
            for (int c = 0; c < 2 * g; c++) {
                float v = p[row + c];
                if (!(Math.abs(v) <= FACTOR_LIMIT)) return false;
            }
        }
        for (int i = 0; i < K; i++) {
            int row = (t * K + i) * w;
            Vec.expNegInto(p, row, ex, i * g, g);           // e^(−a_i)
            Vec.expNegInto(p, row + g, ex, (K + i) * g, g); // e^(−b_i)
        }
        return true;
    }

    /**
     * gs[(i·K + j)·g + c] = σ(a_i[c] + b_j[c]) for the K² pairs of token t: factored through {@link #expNeg} (one
     * multiply, one add and one division a gate) or, past the factor limit, directly. Every method here reads its
     * gates from this one place, so the forward, its gate statistics and the backward see the same bits. The gates
     * go through an array (16 KiB at K = 8, g = 64: in L1) rather than a helper returning vectors, whose inlining
     * the JIT may refuse in a big method, which then boxes every vector (a 7x slower backward was measured so).
     */
    static void gates(float[] p, int t, int K, int g, float[] ex, float[] gs) {
        int w = 4 * g;
        int gv = g - g % L;
        if (expNeg(p, t, K, g, ex)) {
            for (int i = 0; i < K; i++) {
                for (int j = 0; j < K; j++) {
                    int ea = i * g, eb = (K + j) * g, o = (i * K + j) * g;
                    for (int c = 0; c < gv; c += L) {
                        ONE.div(FloatVector.fromArray(SP, ex, ea + c).mul(FloatVector.fromArray(SP, ex, eb + c)).add(1f))
                                .intoArray(gs, o + c);
                    }
                    for (int c = gv; c < g; c++) {
                        gs[o + c] = 1f / (ex[ea + c] * ex[eb + c] + 1f);
                    }
                }
            }
            return;
        }
        for (int i = 0; i < K; i++) {
            int rowI = (t * K + i) * w;
            for (int j = 0; j < K; j++) {
                int rowJb = (t * K + j) * w + g, o = (i * K + j) * g;
                for (int c = 0; c < g; c++) {
                    gs[o + c] = Vec.sigmoid(p[rowI + c] + p[rowJb + c]);
                }
            }
        }
    }

    private static final FloatVector ONE = FloatVector.broadcast(SP, 1f);

    /** Scratch for {@link #expNeg}: 2·K·g floats. */
    public static float[] expScratch(int K, int g) {
        return new float[2 * K * g];
    }

    /** Scratch for {@link #gates}: K²·g floats. */
    public static float[] gateScratch(int K, int g) {
        return new float[K * K * g];
    }

    /**
     * dp += gradients for tokens [t0, t1) given dOut[T·K × g]. Each ordered pair (i, j) evaluates its gate
     * s = σ(a_i + b_j) once; with q = dOut_i and m = c_i + e_j the pair adds q·m·s·(1−s) to da_i and db_j and
     * q·s to dc_i and de_j. Pairs run with i outer, j inner, so da_n, dc_n sum over j and db_n, de_n over i
     * in increasing order, the portable kernel's order; the per-node totals are added to dp once, as there.
     * {@code acc} is scratch of at least K·4g floats, {@code ex} of {@link #expScratch}, {@code gs} of
     * {@link #gateScratch}.
     */
    public static void pairwiseBackward(float[] p, float[] dOut, float[] dp, int t0, int t1, int K, int g, float[] acc, float[] ex,
                                        float[] gs) {
        int w = 4 * g;
        int gv = g - g % L;
        for (int t = t0; t < t1; t++) {
            int slot0 = t * K;
            gates(p, t, K, g, ex, gs);
            java.util.Arrays.fill(acc, 0, K * w, 0f);
            for (int i = 0; i < K; i++) {
                int rowI = (slot0 + i) * w;
                int qI = (slot0 + i) * g;
                int accI = i * w;
                // channels outer, j inner: da_i and dc_i stay in registers over j (the same additions in the same
                // order as summing into acc), db_j and de_j are summed into acc over i in increasing order
                for (int c = 0; c < gv; c += L) {
                    FloatVector q = FloatVector.fromArray(SP, dOut, qI + c);
                    FloatVector cI = FloatVector.fromArray(SP, p, rowI + 2 * g + c);
                    FloatVector dA = FloatVector.zero(SP), dC = dA;
                    for (int j = 0; j < K; j++) {
                        int rowJ = (slot0 + j) * w;
                        int accJ = j * w;
                        FloatVector s = FloatVector.fromArray(SP, gs, (i * K + j) * g + c);
                        FloatVector m = cI.add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        FloatVector gm = q.mul(m).mul(s).mul(s.neg().add(1f)); // ((q·m)·s)·(1−s)
                        FloatVector qs = q.mul(s);
                        dA = dA.add(gm);
                        dC = dC.add(qs);
                        FloatVector.fromArray(SP, acc, accJ + g + c).add(gm).intoArray(acc, accJ + g + c);       // db_j
                        FloatVector.fromArray(SP, acc, accJ + 3 * g + c).add(qs).intoArray(acc, accJ + 3 * g + c); // de_j
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
                        float s = gs[(i * K + j) * g + c];
                        float m = p[rowI + 2 * g + c] + p[rowJ + 3 * g + c];
                        float gm = q * m * s * (1f - s);
                        float qs = q * s;
                        dA += gm;
                        dC += qs;
                        acc[accJ + g + c] += gm;
                        acc[accJ + 3 * g + c] += qs;
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
        float[] ex = expScratch(K, g), gs = gateScratch(K, g);
        for (int t = t0; t < t1; t++) {
            gates(p, t, K, g, ex, gs);
            for (int i = 0; i < K; i++) {
                int rowI = (t * K + i) * w;
                int o = (t * K + i) * g;
                java.util.Arrays.fill(out, o, o + g, 0f);
                for (int j = 0; j < K; j++) {
                    int rowJ = (t * K + j) * w;
                    int gOff = (i * K + j) * g;
                    FloatVector gates = FloatVector.zero(SP);
                    for (int c = 0; c < gv; c += L) {
                        FloatVector gate = FloatVector.fromArray(SP, gs, gOff + c);
                        FloatVector msg = FloatVector.fromArray(SP, p, rowI + 2 * g + c).add(FloatVector.fromArray(SP, p, rowJ + 3 * g + c));
                        gate.mul(msg).add(FloatVector.fromArray(SP, out, o + c)).intoArray(out, o + c);
                        gates = gates.add(gate);
                    }
                    float perToken = gv > 0 ? Vec.sumLanes(gates) : 0f;
                    for (int c = gv; c < g; c++) {
                        float gate = gs[gOff + c];
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
        int gv = g - g % L;
        float[] ex = expScratch(K, g), gs = gateScratch(K, g);
        for (int ch = chunk0; ch < chunk1; ch++) {
            int t1 = Math.min(T, (ch + 1) * GATE_CHUNK);
            int out = ch * K * K;
            for (int i = 0; i < K * K; i++) {
                part[out + i] = 0.0;
            }
            for (int t = ch * GATE_CHUNK; t < t1; t++) {
                gates(p, t, K, g, ex, gs);
                for (int i = 0; i < K; i++) {
                    for (int j = 0; j < K; j++) {
                        int gOff = (i * K + j) * g;
                        float perToken = 0f;
                        if (gv > 0) {
                            FloatVector sum = FloatVector.zero(SP);
                            for (int c = 0; c < gv; c += L) {
                                sum = sum.add(FloatVector.fromArray(SP, gs, gOff + c));
                            }
                            perToken = Vec.sumLanes(sum);
                        }
                        for (int c = gv; c < g; c++) {
                            perToken += gs[gOff + c];
                        }
                        part[out + i * K + j] += (double) perToken / g;
                    }
                }
            }
        }
    }
}
