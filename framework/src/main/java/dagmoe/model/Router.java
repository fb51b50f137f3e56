package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * Token-choice top-K router: logits = W_r x [T×N]; p = softmax; top-K by p (ties to the lower index);
 * gates g = p[top] (renormalised over the K when normalize_topk). Also the auxiliary losses
 * (Switch balance loss and z-loss) of its logits. Weights may be shared by several {@link Acts}.
 */
final class Router {
    final Parameter w; // [N, d]
    private final int d, N, K;
    private final boolean normalize;
    private final float alpha, beta;

    /** Per-call activations (a chain router round has its own). */
    static final class Acts {
        float[] logits, probs, dLogits; // [T×N]
        float[] gates, dGates;          // [T×K]
        int[] topIdx;                   // [T×K]
        final float[] aux = new float[2]; // balance, z-loss
        float[] balanceCoef;              // [N], read by the next backward when balanceGiven ({@link SharedBalance})
        boolean balanceGiven;             // this call's balance gradient is the whole split batch's; reset by each forward

        void allocate(int T, int N, int K) {
            logits = Ops.grow(logits, T * N); probs = Ops.grow(probs, T * N); dLogits = Ops.grow(dLogits, T * N);
            gates = Ops.grow(gates, T * K); dGates = Ops.grow(dGates, T * K); topIdx = Ops.grow(topIdx, T * K);
        }
    }

    /** One router call of a forward: its activations and the dispatch's slots per expert [N] (Experts.Acts.counts). */
    record Call(Acts acts, int[] counts) {}

    Router(Parameter w, ModelConfig c) {
        this.w = w;
        d = c.dModel();
        N = c.nExperts();
        K = c.topK();
        normalize = c.normalizeTopk();
        alpha = (float) c.balanceCoef();
        beta = (float) c.zLossCoef();
    }

    // x[T×d] -> a.topIdx, a.gates [T×K], a.aux
    void forward(Backend be, float[] x, Acts a, int T) {
        Ops.linear(be, x, w.data(), a.logits, T, N, d);
        be.routerForward(a.logits, a.probs, a.topIdx, a.gates, T, N, K, normalize);
        be.routerAuxForward(a.logits, a.probs, a.topIdx, a.aux, T, N, K, alpha, beta);
        a.balanceGiven = false;
    }

    // a.dGates[T×K] (+ the aux losses, weight 1) -> dx[T×d] +=, dW +=
    void backward(Backend be, float[] x, Acts a, float[] dx, int T) {
        be.fill(a.dLogits, T * N, 0f);
        be.routerBackward(a.probs, a.topIdx, a.gates, a.dGates, a.dLogits, T, N, K, normalize);
        if (a.balanceGiven) { // the expert fractions of a batch split over devices (SharedBalance): z-loss here, balance given
            be.routerAuxBackward(a.logits, a.probs, a.topIdx, a.dLogits, T, N, K, 0f, beta);
            be.routerBalanceBackward(a.probs, a.balanceCoef, a.dLogits, T, N);
        } else {
            be.routerAuxBackward(a.logits, a.probs, a.topIdx, a.dLogits, T, N, K, alpha, beta);
        }
        Ops.linearBackward(be, x, w, a.dLogits, dx, T, N, d);
    }
}
