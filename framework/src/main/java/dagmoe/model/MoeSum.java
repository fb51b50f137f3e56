package dagmoe.model;

import dagmoe.backend.Backend;

/** {@code sum}: h' = h + Σ_i g_i E_{k[i]}(x) (standard top-K MoE). */
class MoeSum extends MoeRouted {

    MoeSum(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) { super(reg, prefix, c, scratch); }

    @Override void aggregateForward(Backend be, float[] h, float[] x, float[] out, int T) {
        be.copy(h, out, T * d);
        sumSlots(be, out, T, true);
    }

    @Override void aggregateBackward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        be.axpy(1f, dOut, dh, T * d);
        spreadToSlots(be, dOut, dGy, T);
    }
}
