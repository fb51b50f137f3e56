package dagmoe.model;

import dagmoe.backend.Backend;

/**
 * Rotary causal multi-head self-attention of one block (no biases):
 * q = x wqᵀ, k = x wkᵀ, v = x wvᵀ; q, k rotated (interleaved pairs, position = index in the sequence);
 * out = softmax_causal(q kᵀ/√hd) v  woᵀ.
 */
final class Attention {
    final Parameter wq, wk, wv, wo; // each [d, d]
    private final int d, heads, hd;
    private final float theta;

    // activations [T×d] unless noted
    private float[] v, qr, kr, att, probs; // probs [B×H×S×S]; q, k before rotation are scratch
    private final Scratch scratch;

    Attention(ParamRegistry reg, String prefix, ModelConfig c, Scratch scratch) {
        this.scratch = scratch;
        d = c.dModel(); heads = c.nHeads(); hd = c.headDim();
        theta = (float) c.ropeTheta();
        double std = c.initStd();
        wq = reg.matrix(prefix + ".wq", "attention", std, d, d);
        wk = reg.matrix(prefix + ".wk", "attention", std, d, d);
        wv = reg.matrix(prefix + ".wv", "attention", std, d, d);
        // GPT-2 style: the projection into the residual stream scaled by 1/sqrt(2·n_layers)
        wo = reg.matrix(prefix + ".wo", "attention", std / Math.sqrt(2.0 * c.nLayers()), d, d);
    }

    void allocate(int T, int probsLen) {
        int n = T * d;
        v = Ops.grow(v, n); qr = Ops.grow(qr, n); kr = Ops.grow(kr, n);
        att = Ops.grow(att, n); probs = Ops.grow(probs, probsLen);
    }

    // x[B·S × d] (normalised block input) -> out[B·S × d]
    void forward(Backend be, float[] x, float[] out, int B, int S) {
        int T = B * S;
        float[] q = scratch.get("attn.q", T * d), k = scratch.get("attn.k", T * d);
        Ops.linear(be, x, wq.data(), q, T, d, d);
        Ops.linear(be, x, wk.data(), k, T, d, d);
        Ops.linear(be, x, wv.data(), v, T, d, d);
        be.ropeForward(q, qr, T, S, heads, hd, theta);
        be.ropeForward(k, kr, T, S, heads, hd, theta);
        be.attentionForward(qr, kr, v, probs, att, B, S, heads, hd);
        Ops.linear(be, att, wo.data(), out, T, d, d);
    }

    // dOut[T×d] -> dx[T×d] += ∂/∂x; parameter gradients accumulate
    void backward(Backend be, float[] x, float[] dOut, float[] dx, int B, int S) {
        int T = B * S, n = T * d;
        float[] dAtt = scratch.get("attn.dAtt", n), dqr = scratch.get("attn.dqr", n), dkr = scratch.get("attn.dkr", n);
        float[] dv = scratch.get("attn.dv", n), dq = scratch.get("attn.dq", n), dk = scratch.get("attn.dk", n);
        float[] dScores = scratch.get("attn.dScores", B * heads * S * S);
        be.fill(dAtt, n, 0f);
        Ops.linearBackward(be, att, wo, dOut, dAtt, T, d, d);
        be.fill(dqr, n, 0f); be.fill(dkr, n, 0f); be.fill(dv, n, 0f);
        be.attentionBackward(qr, kr, v, probs, dAtt, dqr, dkr, dv, dScores, B, S, heads, hd);
        be.fill(dq, n, 0f); be.fill(dk, n, 0f);
        be.ropeBackward(dqr, dq, T, S, heads, hd, theta);
        be.ropeBackward(dkr, dk, T, S, heads, hd, theta);
        Ops.linearBackward(be, x, wq, dq, dx, T, d, d);
        Ops.linearBackward(be, x, wk, dk, dx, T, d, d);
        Ops.linearBackward(be, x, wv, dv, dx, T, d, d);
    }
}
