package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * A dense SwiGLU feed-forward S(x) = w_down( silu(w_gate x) ⊙ (w_up x) ), hidden width {@code hidden}.
 * Used for the dense blocks (moe_every > 1) and for the shared expert.
 */
final class SwiGlu {
    final Parameter wGate, wUp, wDown; // [hidden, d], [hidden, d], [d, hidden]
    private final int d, hidden;
    private float[] hg, hu, act;           // [T×hidden]
    private final Scratch scratch;

    SwiGlu(ParamRegistry reg, String prefix, String component, int d, int hidden, double std, double downStd, Scratch scratch) {
        this.scratch = scratch;
        this.d = d;
        this.hidden = hidden;
        wGate = reg.matrix(prefix + ".w_gate", component, std, hidden, d);
        wUp = reg.matrix(prefix + ".w_up", component, std, hidden, d);
        wDown = reg.matrix(prefix + ".w_down", component, downStd, d, hidden);
    }

    void allocate(int T) {
        int n = T * hidden;
        hg = Ops.grow(hg, n); hu = Ops.grow(hu, n); act = Ops.grow(act, n);
    }

    // x[T×d] -> y[T×d] (overwritten)
    void forward(Backend be, float[] x, float[] y, int T) {
        Ops.linear(be, x, wGate.data(), hg, T, hidden, d);
        Ops.linear(be, x, wUp.data(), hu, T, hidden, d);
        be.swigluForward(hg, hu, act, T * hidden);
        Ops.linear(be, act, wDown.data(), y, T, d, hidden);
    }

    // dy[T×d] -> dx[T×d] +=
    void backward(Backend be, float[] x, float[] dy, float[] dx, int T) {
        int n = T * hidden;
        float[] dAct = scratch.get("swiglu.dAct", n), dHg = scratch.get("swiglu.dHg", n), dHu = scratch.get("swiglu.dHu", n);
        be.fill(dAct, n, 0f);
        Ops.linearBackward(be, act, wDown, dy, dAct, T, d, hidden);
        be.fill(dHg, n, 0f); be.fill(dHu, n, 0f);
        be.swigluBackward(hg, hu, dAct, dHg, dHu, n);
        Ops.linearBackward(be, x, wGate, dHg, dx, T, hidden, d);
        Ops.linearBackward(be, x, wUp, dHu, dx, T, hidden, d);
    }
}
