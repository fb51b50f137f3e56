package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Small Vector API loops shared by the cpu backend's operations. Only lanewise add/mul/fma/max and
 * loads/stores are used: they give the same bits interpreted and JIT-compiled. Lane sums are done by a
 * fixed scalar order over the stored lanes (never {@code reduceLanes(ADD)}, whose order is unspecified),
 * so results stay deterministic.
 */
public final class Vec {
    private Vec() {}

    public static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;
    public static final int L = SP.length();

    /**
     * Σ lanes of v in lane order. Written out for 16 lanes: there the loop is not unrolled fully, and {@code lane(i)}
     * with an index the JIT does not see as a constant takes a slow path (measured on 512-bit vectors: the DAG's
     * pairwise forward 2.6x slower). Other widths keep the loop, which keeps the method small enough to inline: a
     * caller that does not inline it boxes its argument.
     */
    public static float sumLanes(FloatVector v) {
        if (L == 16) { // 0f + first: the loop's bits, the sign of an all-zero sum included
            return 0f + v.lane(0) + v.lane(1) + v.lane(2) + v.lane(3) + v.lane(4) + v.lane(5) + v.lane(6) + v.lane(7)
                    + v.lane(8) + v.lane(9) + v.lane(10) + v.lane(11) + v.lane(12) + v.lane(13) + v.lane(14) + v.lane(15);
        }
        float s = 0f;
        for (int l = 0; l < L; l++) {
            s += v.lane(l);
        }
        return s;
    }

    /** Σ_i a[aOff+i]·b[bOff+i], i in [0,n): L-wide partial sums, then lanes in order, then the tail. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int nv = n - n % L;
        float s = 0f;
        if (nv > 0) {
            FloatVector acc = FloatVector.zero(SP);
            for (int i = 0; i < nv; i += L) {
                acc = FloatVector.fromArray(SP, a, aOff + i).fma(FloatVector.fromArray(SP, b, bOff + i), acc);
            }
            s = sumLanes(acc);
        }
        for (int i = nv; i < n; i++) {
            s = Math.fma(a[aOff + i], b[bOff + i], s);
        }
        return s;
    }

    /** Σ_i x[off+i]², i in [0,n). */
    public static float sumSquares(float[] x, int off, int n) {
        return dot(x, off, x, off, n);
    }

    /** y[yOff+i] += alpha·x[xOff+i], i in [0,n). */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int nv = n - n % L;
        FloatVector va = FloatVector.broadcast(SP, alpha);
        for (int i = 0; i < nv; i += L) {
            va.fma(FloatVector.fromArray(SP, x, xOff + i), FloatVector.fromArray(SP, y, yOff + i)).intoArray(y, yOff + i);
        }
        for (int i = nv; i < n; i++) {
            y[yOff + i] = Math.fma(alpha, x[xOff + i], y[yOff + i]);
        }
    }

    /** y[yOff+i] += x[xOff+i], i in [0,n). */
    public static void add(float[] x, int xOff, float[] y, int yOff, int n) {
        int nv = n - n % L;
        for (int i = 0; i < nv; i += L) {
            FloatVector.fromArray(SP, y, yOff + i).add(FloatVector.fromArray(SP, x, xOff + i)).intoArray(y, yOff + i);
        }
        for (int i = nv; i < n; i++) {
            y[yOff + i] += x[xOff + i];
        }
    }

    /** max_i x[off+i], i in [0,n), n >= 1. */
    public static float max(float[] x, int off, int n) {
        int nv = n - n % L;
        float m = -Float.MAX_VALUE;
        if (nv > 0) {
            FloatVector acc = FloatVector.broadcast(SP, -Float.MAX_VALUE);
            for (int i = 0; i < nv; i += L) {
                acc = acc.max(FloatVector.fromArray(SP, x, off + i));
            }
            m = acc.reduceLanes(VectorOperators.MAX); // max is order-independent
        }
        for (int i = nv; i < n; i++) {
            m = Math.max(m, x[off + i]);
        }
        return m;
    }

    // ---------------------------------------------------------------- exp (Cephes expf), vector and scalar twins

    private static final float EXP_HI = 88.3762626647949f;
    private static final float EXP_LO = -87.3365447504f;  // keeps 2^n a normal float
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final float ROUND = 12582912f;          // 1.5·2^23: adding it rounds to an integer
    private static final int ROUND_BITS = 0x4B400000;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * e^x per lane, within ~2 ulp of {@link Math#exp} on [-87.3, 88.4] (inputs are clamped to that range, so
     * large arguments give ~3.4e38 instead of infinity and very negative ones ~1e-38 instead of 0; NaN stays
     * NaN). Only exact lanewise operations (add, mul, fma, min, max, integer shifts), so interpreted and
     * JIT-compiled code give the same bits, and {@link #exp(float)} gives the same bits as a lane.
     */
    public static FloatVector exp(FloatVector x) {
        x = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = x.fma(FloatVector.broadcast(SP, LOG2E), FloatVector.broadcast(SP, ROUND));
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(SP, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(SP, -LN2_LO), r);
        FloatVector p = r.fma(FloatVector.broadcast(SP, P0), FloatVector.broadcast(SP, P1));
        p = p.fma(r, FloatVector.broadcast(SP, P2));
        p = p.fma(r, FloatVector.broadcast(SP, P3));
        p = p.fma(r, FloatVector.broadcast(SP, P4));
        p = p.fma(r, FloatVector.broadcast(SP, P5));
        FloatVector y = p.mul(r).fma(r, r).add(1f);
        IntVector bits = ((IntVector) t.viewAsIntegralLanes()).sub(ROUND_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        return y.mul((FloatVector) bits.viewAsFloatingLanes());
    }

    /**
     * dst[dOff + i] = e^(−src[sOff + i]) for i in [0, n): {@link #exp(FloatVector)} on the negated lanes, its scalar
     * twin on the tail.
     */
    public static void expNegInto(float[] src, int sOff, float[] dst, int dOff, int n) {
        int nv = n - n % L;
        for (int i = 0; i < nv; i += L) {
            exp(FloatVector.fromArray(SP, src, sOff + i).neg()).intoArray(dst, dOff + i);
        }
        for (int i = nv; i < n; i++) {
            dst[dOff + i] = exp(-src[sOff + i]);
        }
    }

    /** The scalar twin of {@link #exp(FloatVector)}: the same operations, the same bits. */
    public static float exp(float x) {
        x = Math.min(Math.max(x, EXP_LO), EXP_HI);
        float t = Math.fma(x, LOG2E, ROUND);
        float n = t - ROUND;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p * r, r, r) + 1f;
        int bits = (Float.floatToRawIntBits(t) - (ROUND_BITS - 127)) << 23;
        return y * Float.intBitsToFloat(bits);
    }

    /** σ(x) = 1/(1+e^(−x)) per lane (no transcendental Vector API operation: see {@link #exp(FloatVector)}). */
    public static FloatVector sigmoid(FloatVector x) {
        return ONE.div(exp(x.neg()).add(1f));
    }

    /** The scalar twin of {@link #sigmoid(FloatVector)}. */
    public static float sigmoid(float x) {
        return 1f / (exp(-x) + 1f);
    }

    private static final FloatVector ONE = FloatVector.broadcast(SP, 1f);
}
