package dagmoe.kernels;

import dagmoe.backend.JavaBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static dagmoe.kernels.TestArrays.assertClose;
import static dagmoe.kernels.TestArrays.assertGradient;
import static dagmoe.kernels.TestArrays.delta;
import static dagmoe.kernels.TestArrays.dot;
import static dagmoe.kernels.TestArrays.toDouble;
import static dagmoe.kernels.TestArrays.uniform;

/** Causal multi-head attention against a double reference; the three backward kernels against finite differences. */
class AttentionKernelsTest {

    final JavaBackend be = new JavaBackend();

    /** Returns [out | probs] concatenated: out [B·S·H·hd], probs [B·H·S·S]. */
    static double[] ref(double[] q, double[] k, double[] v, int B, int S, int H, int hd) {
        int tok = B * S * H * hd;
        double[] res = new double[tok + B * H * S * S];
        double scale = 1 / Math.sqrt(hd);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++)
                for (int i = 0; i < S; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double acc = 0;
                        for (int c = 0; c < hd; c++)
                            acc += q[((b * S + i) * H + h) * hd + c] * k[((b * S + j) * H + h) * hd + c];
                        s[j] = acc * scale;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double p = s[j] / sum;
                        res[tok + ((b * H + h) * S + i) * S + j] = p;
                        for (int c = 0; c < hd; c++)
                            res[((b * S + i) * H + h) * hd + c] += p * v[((b * S + j) * H + h) * hd + c];
                    }
                }
        return res;
    }

    static double[] outPart(double[] res, int tok) {
        return java.util.Arrays.copyOf(res, tok);
    }

    @Test
    void forwardMatchesReferenceIncludingZerosAboveDiagonal() {
        SplittableRandom r = TestArrays.rng(20);
        int[][] shapes = {{1, 1, 1, 1}, {2, 7, 3, 5}, {1, 33, 2, 8}, {3, 5, 1, 16}};
        for (int[] s : shapes) {
            int B = s[0], S = s[1], H = s[2], hd = s[3];
            int tok = B * S * H * hd;
            float[] q = uniform(r, tok, 1.5), k = uniform(r, tok, 1.5), v = uniform(r, tok, 1);
            float[] probs = uniform(r, B * H * S * S, 5); // garbage: must be overwritten, zeros above the diagonal
            float[] out = uniform(r, tok, 5);
            be.attentionForward(q, k, v, probs, out, B, S, H, hd);
            double[] res = ref(toDouble(q), toDouble(k), toDouble(v), B, S, H, hd);
            assertClose("attention out " + java.util.Arrays.toString(s), outPart(res, tok), out, 1e-5, 1e-5);
            assertClose("attention probs", java.util.Arrays.copyOfRange(res, tok, res.length), probs, 1e-6, 1e-5);
        }
    }

    @Test
    void backwardMatchesFiniteDifferences() {
        SplittableRandom r = TestArrays.rng(21);
        int[][] shapes = {{1, 1, 1, 2}, {2, 7, 3, 5}, {1, 9, 2, 8}};
        for (int[] s : shapes) {
            int B = s[0], S = s[1], H = s[2], hd = s[3];
            int tok = B * S * H * hd;
            float[] q = uniform(r, tok, 1.5), k = uniform(r, tok, 1.5), v = uniform(r, tok, 1);
            float[] probs = new float[B * H * S * S];
            float[] out = new float[tok];
            be.attentionForward(q, k, v, probs, out, B, S, H, hd);
            double[] rr = toDouble(uniform(r, tok, 1));
            float[] dOut = new float[tok];
            for (int i = 0; i < tok; i++) dOut[i] = (float) rr[i];
            float[] dq0 = uniform(r, tok, 1), dk0 = uniform(r, tok, 1), dv0 = uniform(r, tok, 1);
            float[] dq = dq0.clone(), dk = dk0.clone(), dv = dv0.clone();
            float[] scratch = uniform(r, B * H * S * S + 3, 7);
            be.attentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, hd);
            double[] qd = toDouble(q), kd = toDouble(k), vd = toDouble(v);
            String w = java.util.Arrays.toString(s);
            if (S == 1) {
                // one key: the softmax is constant 1, so q and k get no gradient
                assertClose("attention dq (S=1)", new double[tok], delta(dq, dq0), 1e-7, 0);
                assertClose("attention dk (S=1)", new double[tok], delta(dk, dk0), 1e-7, 0);
            } else {
                assertGradient("attention dq " + w, x -> dot(rr, outPart(ref(x, kd, vd, B, S, H, hd), tok)), qd.clone(),
                        delta(dq, dq0), 1e-5, 2e-4, 200);
                assertGradient("attention dk " + w, x -> dot(rr, outPart(ref(qd, x, vd, B, S, H, hd), tok)), kd.clone(),
                        delta(dk, dk0), 1e-5, 2e-4, 200);
            }
            assertGradient("attention dv " + w, x -> dot(rr, outPart(ref(qd, kd, x, B, S, H, hd), tok)), vd.clone(),
                    delta(dv, dv0), 1e-5, 2e-4, 200);
        }
    }
}
