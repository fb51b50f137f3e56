package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

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
