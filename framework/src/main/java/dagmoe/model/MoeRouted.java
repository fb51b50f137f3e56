package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * Common part of the single-router MoE sub-blocks: route x, run the selected experts, gate them:
 * gy[(t·K+i)×d] = g_i · E_{k[i]}(x_t) (slot order; a token's K rows are its concat_i(g_i Y_i)).
 */
abstract class MoeRouted extends FeedForward {
    final Router router;
    final Experts experts;
    final int d, N, K;
    final Router.Acts ra = new Router.Acts();
    final Experts.Acts ea = new Experts.Acts();
    final Scratch scratch;
    float[] gy;          // [TK×d]
    float[] dGy, dY;     // [TK×d] backward: set from the scratch at the start of each backward
    int[] identity;      // slot s at row s

    MoeRouted(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        d = c.dModel();
        N = c.nExperts();
        K = c.topK();
        this.scratch = scratch;
        router = new Router(reg.matrix(prefix + ".router", "router", c.initStd(), N, d), c);
        experts = new Experts(reg, prefix + ".experts", c, scratch);
    }

    /** Takes dGy, dY [TK×d] from the shared scratch; call first in every backward. */
    void backwardBuffers(int T) {
        dGy = scratch.get("moe.dGy", T * K * d);
        dY = scratch.get("moe.dY", T * K * d);
    }

    @Override void allocate(int T) {
        int s = T * K;
        ra.allocate(T, N, K);
        experts.allocate(ea, T);
        gy = Ops.grow(gy, s * d);
        if (identity == null || identity.length < s) identity = Ops.identity(s);
    }

    /** Route, run and gate the experts (gy), then aggregate: h, x, gy -> out. */
    @Override final void forward(Backend be, float[] h, float[] x, float[] out, int T) {
        routeForward(be, x, T);
        aggregateForward(be, h, x, out, T);
    }

    /** The aggregation's backward (dOut -> dGy, dh, dx, aggregator gradients), then gates, experts and router. */
    @Override final void backward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        backwardBuffers(T);
        aggregateBackward(be, h, x, dOut, dh, dx, T);
        routeBackward(be, x, dx, T);
    }

    /** The aggregator alone: h, x [T×d] and the gated expert outputs gy [TK×d] (slot order) -> out [T×d] (overwritten). */
    abstract void aggregateForward(Backend be, float[] h, float[] x, float[] out, int T);

    /**
     * The aggregator's backward alone: dOut [T×d] -> dGy [TK×d] (overwritten), dh, dx +=, the aggregator's
     * gradients += (after {@link #backwardBuffers}, before {@link #routeBackward}).
     */
    abstract void aggregateBackward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T);

    // x[T×d] -> gy[TK×d]
    void routeForward(Backend be, float[] x, int T) {
        router.forward(be, x, ra, T);
        experts.forward(be, x, ra.topIdx, ea, T);
        be.scaleRows(ea.ySlots, ra.gates, gy, T * K, d);
    }

    // dGy[TK×d] -> dx +=, through gates, experts and router
    void routeBackward(Backend be, float[] x, float[] dx, int T) {
        int s = T * K;
        be.fill(dY, s * d, 0f);
        be.fill(ra.dGates, s, 0f);
        be.scaleRowsBackward(ea.ySlots, ra.gates, dGy, dY, ra.dGates, s, d);
        experts.backward(be, ea, dY, dx, T);
        router.backward(be, x, ra, dx, T);
    }

    /** out[T×d] (+)= Σ_i gy[t·K+i]. */
    void sumSlots(Backend be, float[] out, int T, boolean accumulate) {
        be.sumSlotRows(gy, identity, out, T, K, d, accumulate);
    }

    /** dGy[t·K+i] = dOut[t] (the backward of {@link #sumSlots}). */
    void spreadToSlots(Backend be, float[] dOut, float[] dSlots, int T) {
        be.gatherRows(dOut, identity, K, dSlots, T * K, d);
    }

    @Override boolean isMoe() { return true; }

    @Override double[] auxLosses() { return new double[] {ra.aux[0], ra.aux[1]}; }

    @Override int[] expertLoad() { return java.util.Arrays.copyOf(ea.counts, N); }

    @Override java.util.List<Router.Call> routerCalls() { return java.util.List.of(new Router.Call(ra, ea.counts)); }

    @Override int[][] routing(int T) { return new int[][] {java.util.Arrays.copyOf(ra.topIdx, T * K)}; }

    @Override void statsToHost(Backend be) { be.toHost(ra.aux, ea.counts); }

    @Override void routingToHost(Backend be) { be.toHost(ra.topIdx); }
}
