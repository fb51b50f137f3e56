package dagmoe.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import dagmoe.kernels.ElementwiseKernels;

/**
 * Memory-bound loops of the cpu backend over an index range [i0, i1): the java kernels' operations without FMA
 * contraction, lane by lane in their order, so the bits equal java's.
 */
public final class Elementwise {
    private Elementwise() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;

    private static int vecEnd(int i0, int i1) {
        return i0 + (i1 - i0) - (i1 - i0) % L;
    }

    /** y += alpha·x (a multiply, then an add). */
    public static void axpy(float alpha, float[] x, float[] y, int i0, int i1) {
        FloatVector va = FloatVector.broadcast(SP, alpha);
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector.fromArray(SP, y, i).add(va.mul(FloatVector.fromArray(SP, x, i))).intoArray(y, i);
        }
        for (int i = iv; i < i1; i++) {
            y[i] += alpha * x[i];
        }
    }

    private static final VectorSpecies<Float> F4 = FloatVector.SPECIES_128;
    private static final VectorSpecies<Double> D4 = DoubleVector.SPECIES_256;
    /** Whether 4-lane double vectors are native here (AVX2 and up); if not, callers run the java kernel instead. */
    public static final boolean SUM_SQUARES_VECTOR = DoubleVector.SPECIES_PREFERRED.length() >= 4;

    /**
     * Σ x[i]² over [from, to) with the java kernel's eight interleaved double sums
     * ({@link ElementwiseKernels#sumSquaresPartials}) held in two 4-lane vectors: lanes 0–3 and 4–7 of every 8
     * elements, widened to double, squared and added (no FMA), then the tail and the same final combine. Fast only
     * where {@link #SUM_SQUARES_VECTOR}.
     */
    public static double sumSquares(float[] x, int from, int to) {
        DoubleVector a0 = DoubleVector.zero(D4), a1 = DoubleVector.zero(D4);
        int i = from;
        for (; i + 8 <= to; i += 8) {
            DoubleVector v0 = (DoubleVector) FloatVector.fromArray(F4, x, i).convertShape(VectorOperators.F2D, D4, 0);
            DoubleVector v1 = (DoubleVector) FloatVector.fromArray(F4, x, i + 4).convertShape(VectorOperators.F2D, D4, 0);
            a0 = a0.add(v0.mul(v0));
            a1 = a1.add(v1.mul(v1));
        }
        double[] s = new double[8];
        a0.intoArray(s, 0);
        a1.intoArray(s, 4);
        for (int l = 0; i + l < to; l++) {
            double v = x[i + l];
            s[l] += v * v;
        }
        return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
    }

    /** x *= alpha. */
    public static void scale(float[] x, float alpha, int i0, int i1) {
        for (int i = i0; i < i1; i++) {
            x[i] *= alpha;
        }
    }

    /** Tokens [t0, t1): out[(t·K+i)×d] = x[(t·K+i)×d] + alpha·h[t×d]. */
    public static void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int t0, int t1, int K, int d) {
        int dv = d - d % L;
        FloatVector va = FloatVector.broadcast(SP, alpha);
        for (int t = t0; t < t1; t++) {
            int ht = t * d;
            for (int i = 0; i < K; i++) {
                int o = (t * K + i) * d;
                for (int c = 0; c < dv; c += L) {
                    FloatVector.fromArray(SP, x, o + c).add(va.mul(FloatVector.fromArray(SP, h, ht + c))).intoArray(out, o + c);
                }
                for (int c = dv; c < d; c++) {
                    out[o + c] = x[o + c] + alpha * h[ht + c];
                }
            }
        }
    }

    /**
     * AdamW on [i0, i1): m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr·((m/bc1)/(√(v/bc2) + eps) + wd·p).
     */
    public static void adamw(float[] p, float[] g, float[] m, float[] v, int i0, int i1, float lr, float beta1, float beta2,
                             float eps, float weightDecay, float bc1, float bc2) {
        FloatVector b1 = FloatVector.broadcast(SP, beta1);
        FloatVector b2 = FloatVector.broadcast(SP, beta2);
        FloatVector ob1 = FloatVector.broadcast(SP, 1f - beta1);
        FloatVector ob2 = FloatVector.broadcast(SP, 1f - beta2);
        FloatVector vbc1 = FloatVector.broadcast(SP, bc1);
        FloatVector vbc2 = FloatVector.broadcast(SP, bc2);
        FloatVector veps = FloatVector.broadcast(SP, eps);
        FloatVector vlr = FloatVector.broadcast(SP, lr);
        FloatVector vwd = FloatVector.broadcast(SP, weightDecay);
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector gi = FloatVector.fromArray(SP, g, i);
            FloatVector mi = b1.mul(FloatVector.fromArray(SP, m, i)).add(ob1.mul(gi));
            FloatVector vi = b2.mul(FloatVector.fromArray(SP, v, i)).add(ob2.mul(gi).mul(gi));
            mi.intoArray(m, i);
            vi.intoArray(v, i);
            FloatVector update = mi.div(vbc1).div(vi.div(vbc2).sqrt().add(veps));
            FloatVector pi = FloatVector.fromArray(SP, p, i);
            pi.sub(vlr.mul(update.add(vwd.mul(pi)))).intoArray(p, i);
        }
        for (int i = iv; i < i1; i++) {
            float gi = g[i];
            float mi = beta1 * m[i] + (1f - beta1) * gi;
            float vi = beta2 * v[i] + (1f - beta2) * gi * gi;
            m[i] = mi;
            v[i] = vi;
            float update = (mi / bc1) / ((float) Math.sqrt(vi / bc2) + eps);
            p[i] -= lr * (update + weightDecay * p[i]);
        }
    }
}
