package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * {@code dag}: DAG-MoE structural aggregation (method doc, section 2). Over the K nodes of every token
 * (slot order, rows t·K+i), with g = d_g (structureWidth) and L = dagRounds ({@code rounds}):
 * <pre>
 *   x_i^0 = g_i Y_i + h/K            (inject; residual "outer": + x/K; inject=false: no second term;
 *                                     inject_divide=false: + h, the ablation of the 1/K)
 *   round r: u_i = RMSNorm_r(x_i);  z_i = w_down u_i;  [za|zb|zc|zd]_i = [A;B;C;D] z_i
 *            x_i += w_up Σ_j sigmoid(za_i + zb_j) ⊙ (zc_i + zd_j)    (edge gate ⊙ message)
 *   h' = Σ_i x_i^L  ("injected")   or   h + Σ_i x_i^L  ("outer")
 * </pre>
 * With injection of h/K, "injected" is evaluated as (h + Σ_i g_i Y_i) + Σ_i (x_i^L − x_i^0), which is sum's output
 * bit for bit while w_up = 0.
 * A, B (edge gate: {@code gateA}, {@code gateB}) and C, D (message: {@code msgC}, {@code msgD}; saved as
 * .a .b .c .d) are packed each forward into one [4g × g] matrix W4 so that one product gives the four
 * projections side by side: p[TK × 4g] = z W4ᵀ.
 */
final class MoeDag extends MoeRouted {
    final Parameter[] norm, wDown, gateA, gateB, msgC, msgD, wUp; // per round: [d], [g,d], [g,g] ×4, [d,g]
    final int g, rounds;                    // read by GateProbe
    private final boolean inject;
    private final float injectScale;        // 1/K, or 1 (inject_divide = false)
    private final boolean injectDivide;
    private final DagResidual residual;
    private final float eps;
    private final float[][] w4;             // [rounds][4g×g] packed A;B;C;D
    private final float[][] gateMeans;      // [rounds][K·K]
    boolean collectGateStats = true;        // Model.setGateStats
    float[][] X;                            // [rounds+1][TK×d] nodes before each round; X[rounds] the final nodes (GateProbe)
    float[][] P;                            // per round [TK×4g]: za|zb|zc|zd (GateProbe)
    private float[][] U, rstd, Z, M;     // per round: [TK×d], [TK], [TK×g], [TK×4g], [TK×g]

    MoeDag(ParamRegistry reg, String prefix, ModelConfig cfg, Scratch scratch) {
        super(reg, prefix, cfg, scratch);
        g = cfg.dagWidth();
        rounds = cfg.dagRounds();
        inject = cfg.dagInject();
        injectScale = cfg.dagInjectDivide() ? 1f / cfg.topK() : 1f;
        injectDivide = cfg.dagInjectDivide();
        residual = cfg.dagResidual();
        eps = (float) cfg.normEps();
        double std = cfg.initStd();
        norm = new Parameter[rounds]; wDown = new Parameter[rounds]; gateA = new Parameter[rounds]; gateB = new Parameter[rounds];
        msgC = new Parameter[rounds]; msgD = new Parameter[rounds]; wUp = new Parameter[rounds];
        w4 = new float[rounds][4 * g * g];
        gateMeans = new float[rounds][K * K];
        for (int r = 0; r < rounds; r++) {
            String p = prefix + ".dag." + r;
            norm[r] = reg.norm(p + ".norm", "aggregator", d);
            wDown[r] = reg.matrix(p + ".w_down", "aggregator", std, g, d);
            gateA[r] = reg.matrix(p + ".a", "aggregator", std, g, g);
            gateB[r] = reg.matrix(p + ".b", "aggregator", std, g, g);
            msgC[r] = reg.matrix(p + ".c", "aggregator", std, g, g);
            msgD[r] = reg.matrix(p + ".d", "aggregator", std, g, g);
            // zero: at init the block computes exactly what a sum block computes
            wUp[r] = reg.add(p + ".w_up", "aggregator", Init.Kind.ZEROS, 0, true, d, g);
        }
        X = new float[rounds + 1][]; U = new float[rounds][]; rstd = new float[rounds][]; Z = new float[rounds][];
        P = new float[rounds][]; M = new float[rounds][];
    }

    @Override void allocate(int T) {
        super.allocate(T);
        int s = T * K;
        for (int r = 0; r <= rounds; r++) X[r] = Ops.grow(X[r], s * d);
        for (int r = 0; r < rounds; r++) {
            U[r] = Ops.grow(U[r], s * d); rstd[r] = Ops.grow(rstd[r], s); Z[r] = Ops.grow(Z[r], s * g);
            P[r] = Ops.grow(P[r], s * 4 * g); M[r] = Ops.grow(M[r], s * g);
        }
    }

    @Override void aggregateForward(Backend be, float[] h, float[] x, float[] out, int T) {
        aggregate(be, h, x, gy, out, T);
    }

    /** The aggregation alone: gated expert outputs gy[TK×d] (slot order), h, x [T×d] -> out[T×d]. */
    void aggregate(Backend be, float[] h, float[] x, float[] gy, float[] out, int T) {
        int s = T * K;
        if (inject) be.addTokenToSlots(gy, residual == DagResidual.INJECTED ? h : x, injectScale, X[0], T, K, d);
        else be.copy(gy, X[0], s * d);
        for (int r = 0; r < rounds; r++) {
            be.rmsnormForward(X[r], norm[r].data(), U[r], rstd[r], s, d, eps);
            Ops.linear(be, U[r], wDown[r].data(), Z[r], s, g, d);             // z [s×g]
            pack(be, r);
            Ops.linear(be, Z[r], w4[r], P[r], s, 4 * g, g);                  // p = [za|zb|zc|zd] [s×4g]
            if (collectGateStats) be.dagPairwiseForwardWithGateMeans(P[r], M[r], gateMeans[r], T, K, g);
            else be.dagPairwiseForward(P[r], M[r], T, K, g);                 // Σ_j edgeGate ⊙ message [s×g]
            be.copy(X[r], X[r + 1], s * d);
            be.matmulABt(M[r], 0, wUp[r].data(), 0, X[r + 1], 0, s, d, g, true); // x += w_up m
        }
        if (residual == DagResidual.INJECTED && inject && injectDivide) {
            // h' = Σ_i x_i^L = (h + Σ_i g_i Y_i) + (Σ_i x_i^L − Σ_i x_i^0), the first term in sum's own order:
            // with w_up = 0 (x^L = x^0 bit for bit) the block returns sum's output bit for bit, so a sum
            // checkpoint upcycled to dag keeps its logits exactly.
            float[] sumL = scratch.get("dag.sumXL", T * d), sum0 = scratch.get("dag.sumX0", T * d);
            be.sumSlotRows(X[rounds], identity, sumL, T, K, d, false);
            be.sumSlotRows(X[0], identity, sum0, T, K, d, false);
            be.axpy(-1f, sum0, sumL, T * d);
            be.copy(h, out, T * d);
            sumSlots(be, out, T, true);
            be.axpy(1f, sumL, out, T * d);
        } else if (residual == DagResidual.INJECTED) {
            be.sumSlotRows(X[rounds], identity, out, T, K, d, false);
        } else {
            be.copy(h, out, T * d);
            be.sumSlotRows(X[rounds], identity, out, T, K, d, true);
        }
    }

    private void pack(Backend be, int r) {
        int gg = g * g;
        Ops.copyAt(be, gateA[r].data(), 0, w4[r], 0, gg, false);
        Ops.copyAt(be, gateB[r].data(), 0, w4[r], gg, gg, false);
        Ops.copyAt(be, msgC[r].data(), 0, w4[r], 2 * gg, gg, false);
        Ops.copyAt(be, msgD[r].data(), 0, w4[r], 3 * gg, gg, false);
    }

    @Override void aggregateBackward(Backend be, float[] h, float[] x, float[] dOut, float[] dh, float[] dx, int T) {
        int s = T * K, gg = g * g;
        float[] dM = scratch.get("dag.dM", s * g), dP = scratch.get("dag.dP", s * 4 * g), dZ = scratch.get("dag.dZ", s * g);
        float[] dU = scratch.get("dag.dU", s * d), dW4 = scratch.get("dag.dW4", 4 * gg), dTok = scratch.get("dag.dTok", T * d);
        float[] dX = dGy; // ∂/∂x_i^r, walked back from r = rounds to 0; at r = 0 it is ∂/∂(g_i Y_i)
        spreadToSlots(be, dOut, dX, T);
        if (residual == DagResidual.OUTER) be.axpy(1f, dOut, dh, T * d);
        for (int r = rounds - 1; r >= 0; r--) {
            be.matmul(dX, 0, wUp[r].data(), 0, dM, 0, s, g, d, false);           // dM[s×g] = dX w_up
            be.matmulAtB(dX, 0, M[r], 0, wUp[r].grad(), 0, d, g, s, true);        // dW_up += dXᵀ M
            be.fill(dP, s * 4 * g, 0f);
            be.dagPairwiseBackward(P[r], dM, dP, T, K, g);
            be.matmul(dP, 0, w4[r], 0, dZ, 0, s, g, 4 * g, false);               // dZ[s×g] = dP W4
            be.matmulAtB(dP, 0, Z[r], 0, dW4, 0, 4 * g, g, s, false);            // dW4[4g×g] = dPᵀ Z
            Ops.copyAt(be, dW4, 0, gateA[r].grad(), 0, gg, true);
            Ops.copyAt(be, dW4, gg, gateB[r].grad(), 0, gg, true);
            Ops.copyAt(be, dW4, 2 * gg, msgC[r].grad(), 0, gg, true);
            Ops.copyAt(be, dW4, 3 * gg, msgD[r].grad(), 0, gg, true);
            be.matmul(dZ, 0, wDown[r].data(), 0, dU, 0, s, d, g, false);         // dU[s×d] = dZ w_down
            be.matmulAtB(dZ, 0, U[r], 0, wDown[r].grad(), 0, g, d, s, true);     // dW_down += dZᵀ U
            be.rmsnormBackward(X[r], norm[r].data(), rstd[r], dU, dX, norm[r].grad(), s, d); // residual kept in dX
        }
        if (inject) { // x_i^0 = ... + src·s (s = 1/K): src gets s Σ_i ∂/∂x_i^0
            be.sumSlotRows(dX, identity, dTok, T, K, d, false);
            be.axpy(injectScale, dTok, residual == DagResidual.INJECTED ? dh : dx, T * d);
        }
    }

    @Override void statsToHost(Backend be) {
        super.statsToHost(be);
        if (collectGateStats) for (int r = 0; r < rounds; r++) be.toHost(gateMeans[r]);
    }

    @Override float[][] gateMeans() {
        if (!collectGateStats) return new float[0][];
        float[][] out = new float[rounds][];
        for (int r = 0; r < rounds; r++) out[r] = gateMeans[r].clone();
        return out;
    }
}
