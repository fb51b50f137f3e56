package dagmoe.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Attention rows (and backward columns) run in pairs give the bits of rows run one at a time. */
class AttentionCpuTest {
    @Test
    void rowsInPairsHaveTheBitsOfRowsAlone() {
        SplittableRandom r = new SplittableRandom(31);
        // {S, heads, hd}: odd and even S (a last row alone), hd a multiple of 4 vectors, with a channel tail, short
        for (int[] shape : new int[][] {{9, 2, 64}, {10, 2, 64}, {33, 1, 72}, {8, 3, 16}, {2, 1, 5}}) {
            int S = shape[0], H = shape[1], hd = shape[2], d = H * hd;
            float[] q = uniform(r, S * d), k = uniform(r, S * d), v = uniform(r, S * d), dOut = uniform(r, S * d);
            float[] acc0 = uniform(r, S * d); // dq, dk, dv accumulate
            float[][] results = new float[2][];
            for (int mode = 0; mode < 2; mode++) {
                boolean pairs = mode == 1;
                float[] probs = new float[H * S * S], out = new float[S * d], dScores = new float[H * S * S];
                float[] dq = acc0.clone(), dk = acc0.clone(), dv = acc0.clone();
                AttentionCpu.Scratch s = new AttentionCpu.Scratch(S, hd);
                float scale = (float) (1 / Math.sqrt(hd));
                for (int h = 0; h < H; h++) {
                    AttentionCpu.forward(q, k, v, probs, out, h * hd, h * S * S, S, d, hd, scale, s, pairs);
                    AttentionCpu.backward(q, k, v, probs, dOut, dq, dk, dv, dScores, h * hd, h * S * S, S, d, hd, scale, s, pairs);
                }
                results[mode] = concat(probs, out, dScores, dq, dk, dv);
            }
            assertArrayEquals(results[0], results[1], "S " + S + ", heads " + H + ", hd " + hd);
        }
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] all = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, o, p.length);
            o += p.length;
        }
        return all;
    }

    private static float[] uniform(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }
}
