package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * N SwiGLU experts E_e(x) = w_down[e]( silu(w_gate[e] x) ⊙ (w_up[e] x) ) with dropless dispatch: the T·K
 * slots are sorted by expert ({@link Backend#dispatchPlan}), gathered into one buffer where expert e owns
 * the contiguous rows [offsets[e], offsets[e+1]), each product family runs as one grouped product over all
 * experts ({@link Backend#groupedMatmulABt}: on java and cpu one product per expert, on a device one kernel
 * that reads the offsets there, so the host never reads the routing), and the outputs are gathered back to
 * slot order (row t·K+i = E_{k[i]}(x_t)).
 */
final class Experts {
    final Parameter wGate, wUp, wDown; // [N, de, d], [N, de, d], [N, d, de]
    private final int d, N, K, de;

    /** Per-call activations (a chain round has its own). */
    static final class Acts {
        int[] counts, offsets, order, position;
        float[] xg, ySlots;          // [TK×d]: gathered inputs, outputs in slot order
        float[] hg, hu, act;         // [TK×de]

        void allocate(int T, int N, int K, int d, int de) {
            int s = T * K;
            counts = Ops.grow(counts, N); offsets = Ops.grow(offsets, N + 1);
            order = Ops.grow(order, s); position = Ops.grow(position, s);
            xg = Ops.grow(xg, s * d); ySlots = Ops.grow(ySlots, s * d);
            hg = Ops.grow(hg, s * de); hu = Ops.grow(hu, s * de); act = Ops.grow(act, s * de);
        }
    }

    private final Scratch scratch;

    Experts(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        this.scratch = scratch;
        d = c.dModel(); N = c.nExperts(); K = c.topK(); de = c.expertHidden();
        double std = c.initStd();
        wGate = reg.matrix(prefix + ".w_gate", "experts", std, N, de, d);
        wUp = reg.matrix(prefix + ".w_up", "experts", std, N, de, d);
        wDown = reg.matrix(prefix + ".w_down", "experts", std / Math.sqrt(2.0 * c.nLayers()), N, d, de);
    }

    void allocate(Acts a, int T) { a.allocate(T, N, K, d, de); }

    // x[T×d], topIdx[T×K] -> a.ySlots[TK×d]
    void forward(Backend be, float[] x, int[] topIdx, Acts a, int T) {
        int s = T * K;
        float[] yg = scratch.get("experts.yg", s * d); // outputs in expert order, until gathered back
        be.dispatchPlan(topIdx, a.counts, a.offsets, a.order, a.position, T, K, N);
        be.gatherRows(x, a.order, K, a.xg, s, d); // xg[p] = x[order[p] / K]
        // one grouped product per family over all experts (expert e: rows [offsets[e], offsets[e+1]))
        be.groupedMatmulABt(a.xg, wGate.data(), a.hg, a.offsets, s, N, de, d, false);
        be.groupedMatmulABt(a.xg, wUp.data(), a.hu, a.offsets, s, N, de, d, false);
        be.swigluForward(a.hg, a.hu, a.act, s * de);
        be.groupedMatmulABt(a.act, wDown.data(), yg, a.offsets, s, N, d, de, false);
        be.gatherRows(yg, a.position, 1, a.ySlots, s, d); // ySlots[slot] = yg[position[slot]]
    }

    // dYSlots[TK×d] -> dx[T×d] +=, expert weight gradients +=
    void backward(Backend be, Acts a, float[] dYSlots, float[] dx, int T) {
        int s = T * K;
        float[] dYg = scratch.get("experts.dYg", s * d), dXg = scratch.get("experts.dXg", s * d);
        float[] dAct = scratch.get("experts.dAct", s * de), dHg = scratch.get("experts.dHg", s * de);
        float[] dHu = scratch.get("experts.dHu", s * de);
        be.gatherRows(dYSlots, a.order, 1, dYg, s, d); // expert order: dYg[p] = dYSlots[order[p]]
        be.groupedMatmul(dYg, wDown.data(), dAct, a.offsets, s, N, de, d, false);
        be.groupedMatmulAtB(dYg, a.act, wDown.grad(), a.offsets, s, N, d, de);
        be.fill(dHg, s * de, 0f);
        be.fill(dHu, s * de, 0f);
        be.swigluBackward(a.hg, a.hu, dAct, dHg, dHu, s * de);
        be.groupedMatmul(dHg, wGate.data(), dXg, a.offsets, s, N, d, de, false);
        be.groupedMatmul(dHu, wUp.data(), dXg, a.offsets, s, N, d, de, true);
        be.groupedMatmulAtB(dHg, a.xg, wGate.grad(), a.offsets, s, N, de, d);
        be.groupedMatmulAtB(dHu, a.xg, wUp.grad(), a.offsets, s, N, de, d);
        be.sumSlotRows(dXg, a.position, dx, T, K, d, true); // dx[t] += Σ_i dXg[position[t·K+i]]
    }
}
