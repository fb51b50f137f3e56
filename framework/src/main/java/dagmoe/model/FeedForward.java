package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * The feed-forward sub-block of a transformer block, residual included: h' = F(h, x) with h the
 * sub-block input and x = RMSNorm_ffn(h). Implementations: {@link Dense} (h + S(x)) and the MoE
 * aggregators ({@link MoeSum}, {@link MoeShared}, {@link MoeDag}, {@link MoeMix}, {@link MoeChain}).
 */
abstract class FeedForward {

    /** Makes sure the activation buffers hold T tokens. */
    abstract void allocate(int T);

    /** h[T×d], x[T×d] -> out[T×d] (overwritten). */
    abstract void forward(Backend be, float[] h, float[] x, float[] out, int T);

    /** dOut[T×d] -> dh[T×d] +=, dx[T×d] +=, parameter gradients +=. */
    abstract void backward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T);

    boolean isMoe() { return false; }

    /** Auxiliary losses of the last forward: {balance, z-loss}. */
    double[] auxLosses() { return new double[2]; }

    /** Slots routed to each expert in the last forward [N]. */
    int[] expertLoad() { return new int[0]; }

    /** Mean edge gates of the last forward [round][K·K] (dag only). */
    float[][] gateMeans() { return new float[0][]; }

    /** Every router call of a forward, in call order (chain: one per round). */
    java.util.List<Router.Call> routerCalls() { return java.util.List.of(); }

    /** Copies of every router's top-K indices in the last forward (tests: did the routing change?). */
    int[][] routing(int T) { return new int[0][]; }

    /** Makes the host copies read by {@link #auxLosses}, {@link #expertLoad}, {@link #gateMeans} current (Backend#toHost). */
    void statsToHost(Backend be) {}

    /** Makes the host copies read by {@link #routing} current. */
    void routingToHost(Backend be) {}

    /** A dense SwiGLU block (moe_every > 1): h' = h + S(x). */
    static final class Dense extends FeedForward {
        final SwiGlu ffn;
        private final int d;
        private float[] y;

        Dense(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
            d = c.dModel();
            // w_down writes into the residual stream: scaled by 1/sqrt(2·n_layers) like expert w_down
            ffn = new SwiGlu(reg, prefix, "dense", d, c.expertHidden(), c.initStd(), c.initStd() / Math.sqrt(2.0 * c.nLayers()), scratch);
        }

        @Override void allocate(int T) { ffn.allocate(T); y = Ops.grow(y, T * d); }

        @Override void forward(Backend be, float[] h, float[] x, float[] out, int T) {
            ffn.forward(be, x, y, T);
            be.copy(h, out, T * d);
            be.axpy(1f, y, out, T * d);
        }

        @Override void backward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
            be.axpy(1f, dOut, dh, T * d);
            ffn.backward(be, x, dOut, dx, T);
        }
    }
}
