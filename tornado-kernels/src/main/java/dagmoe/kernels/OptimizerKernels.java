package dagmoe.kernels;

/** AdamW with decoupled weight decay. */
public final class OptimizerKernels {
    private OptimizerKernels() {}

    /**
     * m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;
     * p −= lr · ((m/bc1) / (sqrt(v/bc2) + eps) + weightDecay · p)  (p on the right is the value before the step).
     */
    public static void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2,
                             float eps, float weightDecay, float bc1, float bc2) {
        for (@Parallel int i = 0; i < n; i++) {
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
