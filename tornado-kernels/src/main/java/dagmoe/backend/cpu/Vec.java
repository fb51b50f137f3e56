package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
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

    /** Σ lanes of v in lane order. */
    static float sumLanes(FloatVector v) {
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
}
