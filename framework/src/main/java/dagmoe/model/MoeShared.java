package dagmoe.model;

import dagmoe.backend.Backend;

/** {@code shared}: h' = h + Σ_i g_i E_{k[i]}(x) + S(x), S an always-on SwiGLU of hidden d_r. */
final class MoeShared extends MoeSum {
    final SwiGlu shared;
    private float[] s; // [T×d]

    MoeShared(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        super(reg, prefix, c, scratch);
        shared = new SwiGlu(reg, prefix + ".shared", "aggregator", d, c.effectiveSharedHidden(), c.initStd(), c.initStd(), scratch);
    }

    @Override void allocate(int T) { super.allocate(T); shared.allocate(T); s = Ops.grow(s, T * d); }

    @Override void aggregateForward(Backend be, float[] h, float[] x, float[] out, int T) {
        super.aggregateForward(be, h, x, out, T);
        shared.forward(be, x, s, T);
        be.axpy(1f, s, out, T * d);
    }

    @Override void aggregateBackward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        super.aggregateBackward(be, h, x, dOut, dh, dx, T);
        shared.backward(be, x, dOut, dx, T);
    }
}
