package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * {@code mlp-mix}: h' = h + Σ_i g_i Y_i + w_up GELU_tanh( w_down concat_i(g_i Y_i) ),
 * w_down [g_mix, K·d], w_up [d, g_mix] (zero at init). A token's K slot rows of gy are its concat.
 */
final class MoeMix extends MoeRouted {
    final Parameter wDown, wUp;
    private final int gm;
    private float[] hm, am; // [T×g_mix]

    MoeMix(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        super(reg, prefix, c, scratch);
        gm = c.mixWidth();
        wDown = reg.matrix(prefix + ".mix.w_down", "aggregator", c.initStd(), gm, K * d);
        wUp = reg.add(prefix + ".mix.w_up", "aggregator", Init.Kind.ZEROS, 0, true, d, gm);
    }

    @Override void allocate(int T) {
        super.allocate(T);
        int n = T * gm;
        hm = Ops.grow(hm, n); am = Ops.grow(am, n);
    }

    @Override void aggregateForward(Backend be, float[] h, float[] x, float[] out, int T) {
        be.copy(h, out, T * d);
        sumSlots(be, out, T, true);
        Ops.linear(be, gy, wDown.data(), hm, T, gm, K * d);   // hm[T×gm] = concat(gy) w_downᵀ
        be.geluForward(hm, am, T * gm);
        be.matmulABt(am, 0, wUp.data(), 0, out, 0, T, d, gm, true); // out += am w_upᵀ
    }

    @Override void aggregateBackward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        float[] dAm = scratch.get("mix.dAm", T * gm), dHm = scratch.get("mix.dHm", T * gm);
        be.axpy(1f, dOut, dh, T * d);
        be.fill(dAm, T * gm, 0f);
        Ops.linearBackward(be, am, wUp, dOut, dAm, T, d, gm);
        be.fill(dHm, T * gm, 0f);
        be.geluBackward(hm, dAm, dHm, T * gm);
        spreadToSlots(be, dOut, dGy, T);
        Ops.linearBackward(be, gy, wDown, dHm, dGy, T, gm, K * d); // dGy viewed as [T × K·d]
    }
}
