package dagmoe.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Exp-bound pointwise kernels of the cpu backend over an index range [i0, i1), vectorised with
 * {@link Vec#exp(FloatVector)}; the scalar tail uses the scalar twins, so an element's bits never depend on
 * whether it fell in the vector body or the tail. Formulas and operation order follow the portable kernels
 * (dagmoe.kernels.ActivationKernels), only e^x differs (≤ 1 ulp from Math.exp).
 */
public final class Pointwise {
    private Pointwise() {}

    private static final VectorSpecies<Float> SP = Vec.SP;
    private static final int L = Vec.L;
    private static final float GELU_C = 0.7978845608028654f;
    private static final float GELU_A = 0.044715f;

    private static int vecEnd(int i0, int i1) {
        return i0 + (i1 - i0) - (i1 - i0) % L;
    }

    /** out = silu(gate)·up. */
    public static void swigluForward(float[] gate, float[] up, float[] out, int i0, int i1) {
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector a = FloatVector.fromArray(SP, gate, i);
            a.mul(Vec.sigmoid(a)).mul(FloatVector.fromArray(SP, up, i)).intoArray(out, i);
        }
        for (int i = iv; i < i1; i++) {
            float a = gate[i];
            out[i] = a * Vec.sigmoid(a) * up[i];
        }
    }

    /** dGate += dOut·up·σ(a)(1 + a(1−σ(a))); dUp += dOut·a·σ(a). */
    public static void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int i0, int i1) {
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector a = FloatVector.fromArray(SP, gate, i);
            FloatVector sig = Vec.sigmoid(a);
            FloatVector g = FloatVector.fromArray(SP, dOut, i);
            FloatVector dsilu = a.mul(sig.neg().add(1f)).add(1f);
            g.mul(FloatVector.fromArray(SP, up, i)).mul(sig).mul(dsilu).add(FloatVector.fromArray(SP, dGate, i)).intoArray(dGate, i);
            g.mul(a).mul(sig).add(FloatVector.fromArray(SP, dUp, i)).intoArray(dUp, i);
        }
        for (int i = iv; i < i1; i++) {
            float a = gate[i];
            float sig = Vec.sigmoid(a);
            float g = dOut[i];
            dGate[i] += g * up[i] * sig * (1f + a * (1f - sig));
            dUp[i] += g * a * sig;
        }
    }

    /** y = 0.5·x·(1 + tanh u), u = √(2/π)(x + 0.044715x³), tanh u = 1 − 2/(e^{2u}+1). */
    public static void geluForward(float[] x, float[] y, int i0, int i1) {
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector v = FloatVector.fromArray(SP, x, i);
            FloatVector th = geluTanh(v);
            v.mul(0.5f).mul(th.add(1f)).intoArray(y, i);
        }
        for (int i = iv; i < i1; i++) {
            float v = x[i];
            float u = GELU_C * (v + GELU_A * v * v * v);
            float th = 1f - 2f / (Vec.exp(2f * u) + 1f);
            y[i] = 0.5f * v * (1f + th);
        }
    }

    /** dx += dy · (0.5(1 + tanh u) + 0.5x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)). */
    public static void geluBackward(float[] x, float[] dy, float[] dx, int i0, int i1) {
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            FloatVector v = FloatVector.fromArray(SP, x, i);
            FloatVector th = geluTanh(v);
            FloatVector du = v.mul(3f * GELU_A).mul(v).add(1f).mul(GELU_C);
            FloatVector left = th.add(1f).mul(0.5f);
            FloatVector right = v.mul(0.5f).mul(th.mul(th).neg().add(1f)).mul(du);
            FloatVector.fromArray(SP, dy, i).mul(left.add(right)).add(FloatVector.fromArray(SP, dx, i)).intoArray(dx, i);
        }
        for (int i = iv; i < i1; i++) {
            float v = x[i];
            float u = GELU_C * (v + GELU_A * v * v * v);
            float th = 1f - 2f / (Vec.exp(2f * u) + 1f);
            float du = GELU_C * (1f + 3f * GELU_A * v * v);
            dx[i] += dy[i] * (0.5f * (1f + th) + 0.5f * v * (1f - th * th) * du);
        }
    }

    /** tanh u for the tanh-GELU, in the scalar tail's operation order. */
    private static FloatVector geluTanh(FloatVector v) {
        FloatVector u = v.mul(GELU_A).mul(v).mul(v).add(v).mul(GELU_C);
        FloatVector two = FloatVector.broadcast(SP, 2f);
        return FloatVector.broadcast(SP, 1f).sub(two.div(Vec.exp(u.mul(2f)).add(1f)));
    }

    /** Σ_{i in [i0,i1)} e^(x[i] − shift): L-wide partial sums, lanes in order, then the tail. */
    public static float sumExp(float[] x, int i0, int i1, float shift) {
        return expSum(x, i0, i1, shift, false);
    }

    /** out[o+i] = scale · e^(x[i] − shift) for i in [i0, i1) (out indices shifted by o − 0). */
    public static void scaledExp(float[] x, int i0, int i1, float shift, float scale, float[] out, int outOff) {
        int iv = vecEnd(i0, i1);
        for (int i = i0; i < iv; i += L) {
            Vec.exp(FloatVector.fromArray(SP, x, i).sub(shift)).mul(scale).intoArray(out, outOff + i - i0);
        }
        for (int i = iv; i < i1; i++) {
            out[outOff + i - i0] = Vec.exp(x[i] - shift) * scale;
        }
    }

    /** x[i] = e^(x[i] − shift) for i in [i0, i1), returning their sum (L-wide partials, lanes in order, tail). */
    public static float expInPlaceSum(float[] x, int i0, int i1, float shift) {
        return expSum(x, i0, i1, shift, true);
    }

    /** Σ e^(x[i] − shift) over [i0, i1), L-wide partial sums, lanes in order, then the tail; {@code store}: each term into x[i]. */
    private static float expSum(float[] x, int i0, int i1, float shift, boolean store) {
        int iv = vecEnd(i0, i1);
        float s = 0f;
        if (iv > i0) {
            FloatVector acc = FloatVector.zero(SP);
            for (int i = i0; i < iv; i += L) {
                FloatVector e = Vec.exp(FloatVector.fromArray(SP, x, i).sub(shift));
                if (store) e.intoArray(x, i);
                acc = acc.add(e);
            }
            s = Vec.sumLanes(acc);
        }
        for (int i = iv; i < i1; i++) {
            float e = Vec.exp(x[i] - shift);
            if (store) x[i] = e;
            s += e;
        }
        return s;
    }
}
