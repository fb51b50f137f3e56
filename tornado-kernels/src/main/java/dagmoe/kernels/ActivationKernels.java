package dagmoe.kernels;

/** Pointwise activations: the SwiGLU gate of the experts and tanh-GELU of the mlp-mix aggregator. */
public final class ActivationKernels {
    private ActivationKernels() {}

    /** √(2/π), the tanh-GELU constant. */
    private static final float GELU_C = 0.7978845608028654f;
    private static final float GELU_A = 0.044715f;

    /** out[i] = silu(gate[i]) · up[i], silu(a) = a·sigmoid(a). */
    public static void swigluForward(float[] gate, float[] up, float[] out, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            float a = gate[i];
            float sig = 1f / (1f + (float) Math.exp(-a));
            out[i] = a * sig * up[i];
        }
    }

    /** dGate += dOut·up·silu'(gate), silu'(a) = σ(a)(1 + a(1−σ(a))); dUp += dOut·silu(gate). */
    public static void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            float a = gate[i];
            float sig = 1f / (1f + (float) Math.exp(-a));
            float g = dOut[i];
            dGate[i] += g * up[i] * sig * (1f + a * (1f - sig));
            dUp[i] += g * a * sig;
        }
    }

    /** y = 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))). tanh via exp: 1 − 2/(e^{2u}+1), exact at both tails. */
    public static void geluForward(float[] x, float[] y, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            float v = x[i];
            float u = GELU_C * (v + GELU_A * v * v * v);
            float th = 1f - 2f / ((float) Math.exp(2f * u) + 1f);
            y[i] = 0.5f * v * (1f + th);
        }
    }

    /** dx += dy · (0.5(1 + tanh u) + 0.5x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)). */
    public static void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        for (@Parallel int i = 0; i < n; i++) {
            float v = x[i];
            float u = GELU_C * (v + GELU_A * v * v * v);
            float th = 1f - 2f / ((float) Math.exp(2f * u) + 1f);
            float du = GELU_C * (1f + 3f * GELU_A * v * v);
            dx[i] += dy[i] * (0.5f * (1f + th) + 0.5f * v * (1f - th * th) * du);
        }
    }
}
