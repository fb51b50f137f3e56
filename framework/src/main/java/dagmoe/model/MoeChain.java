package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * {@code chain} (Chain-of-Experts): R rounds over the same experts, each with its own router:
 * x^0 = x;  x^r = x^{r-1} + Σ_i g^r_i E_{k^r[i]}(x^{r-1});  h' = h + (x^R − x^0), computed as
 * h + Σ_r (round r's gated sum). Round 0 uses layers.{l}.moe.router, round r ≥ 1 moe.chain.{r}.router.
 */
final class MoeChain extends FeedForward {
    final Router[] routers;
    final Experts experts;
    private final int d, N, K, R;
    private final Router.Acts[] ra;
    private final Experts.Acts[] ea;
    private final float[][] xs;   // [R][T×d]: input of round r (xs[0] unused: the block's x)
    private float[] gy;           // [TK×d]
    private int[] identity;
    private final Scratch scratch;

    MoeChain(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        this.scratch = scratch;
        d = c.dModel(); N = c.nExperts(); K = c.topK(); R = c.chainRounds();
        routers = new Router[R];
        routers[0] = new Router(reg.matrix(prefix + ".router", "router", c.initStd(), N, d), c);
        experts = new Experts(reg, prefix + ".experts", c, scratch);
        for (int r = 1; r < R; r++)
            routers[r] = new Router(reg.matrix(prefix + ".chain." + r + ".router", "aggregator", c.initStd(), N, d), c);
        ra = new Router.Acts[R];
        ea = new Experts.Acts[R];
        xs = new float[R][];
        for (int r = 0; r < R; r++) { ra[r] = new Router.Acts(); ea[r] = new Experts.Acts(); }
    }

    @Override void allocate(int T) {
        int s = T * K;
        for (int r = 0; r < R; r++) {
            ra[r].allocate(T, N, K);
            experts.allocate(ea[r], T);
            if (r > 0) xs[r] = Ops.grow(xs[r], T * d);
        }
        gy = Ops.grow(gy, s * d);
        if (identity == null || identity.length < s) identity = Ops.identity(s);
    }

    private float[] input(float[] x, int r) { return r == 0 ? x : xs[r]; }

    @Override void forward(Backend be, float[] h, float[] x, float[] out, int T) {
        int s = T * K;
        be.copy(h, out, T * d);
        for (int r = 0; r < R; r++) {
            float[] xin = input(x, r);
            routers[r].forward(be, xin, ra[r], T);
            experts.forward(be, xin, ra[r].topIdx, ea[r], T);
            be.scaleRows(ea[r].ySlots, ra[r].gates, gy, s, d);
            be.sumSlotRows(gy, identity, out, T, K, d, true);                // h' += round r's sum
            if (r + 1 < R) {                                                 // x^{r+1} = x^r + round r's sum
                be.copy(xin, xs[r + 1], T * d);
                be.sumSlotRows(gy, identity, xs[r + 1], T, K, d, true);
            }
        }
    }

    @Override void backward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        int s = T * K;
        float[] dGy = scratch.get("moe.dGy", s * d), dY = scratch.get("moe.dY", s * d);
        float[] dNext = scratch.get("chain.dNext", T * d), dCur = scratch.get("chain.dCur", T * d);
        be.axpy(1f, dOut, dh, T * d);
        // dNext = ∂/∂x^{r+1} through the later rounds only; each round's sum also feeds h' directly.
        be.fill(dNext, T * d, 0f);
        for (int r = R - 1; r >= 0; r--) {
            float[] xin = input(x, r);
            be.copy(dNext, dCur, T * d);                 // residual x^{r+1} = x^r + ...
            be.axpy(1f, dOut, dNext, T * d);             // ∂/∂(round r's sum) = dOut + ∂/∂x^{r+1}
            be.gatherRows(dNext, identity, K, dGy, s, d);
            be.fill(dY, s * d, 0f);
            be.fill(ra[r].dGates, s, 0f);
            be.scaleRowsBackward(ea[r].ySlots, ra[r].gates, dGy, dY, ra[r].dGates, s, d);
            experts.backward(be, ea[r], dY, dCur, T);
            routers[r].backward(be, xin, ra[r], dCur, T);
            float[] t = dNext; dNext = dCur; dCur = t;   // dNext now ∂/∂x^r
        }
        be.axpy(1f, dNext, dx, T * d);
    }

    @Override boolean isMoe() { return true; }

    @Override double[] auxLosses() {
        double bal = 0, z = 0;
        for (Router.Acts a : ra) { bal += a.aux[0]; z += a.aux[1]; }
        return new double[] {bal, z};
    }

    @Override int[] expertLoad() {
        int[] load = new int[N];
        for (Experts.Acts a : ea) for (int i = 0; i < N; i++) load[i] += a.counts[i];
        return load;
    }

    @Override void statsToHost(Backend be) {
        for (int r = 0; r < R; r++) be.toHost(ra[r].aux, ea[r].counts);
    }

    @Override void routingToHost(Backend be) {
        for (int r = 0; r < R; r++) be.toHost(ra[r].topIdx);
    }

    @Override java.util.List<Router.Call> routerCalls() {
        Router.Call[] calls = new Router.Call[R];
        for (int r = 0; r < R; r++) calls[r] = new Router.Call(ra[r], ea[r].counts);
        return java.util.List.of(calls);
    }

    @Override int[][] routing(int T) {
        int[][] out = new int[R][];
        for (int r = 0; r < R; r++) out[r] = java.util.Arrays.copyOf(ra[r].topIdx, T * K);
        return out;
    }
}
