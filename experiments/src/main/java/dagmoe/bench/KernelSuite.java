package dagmoe.bench;

import dagmoe.backend.Backend;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * The {@code kernels} suite: every heavy {@link Backend} operation at 1024³ (matrix products) and at the real
 * shapes of the default model (T = 2048 tokens = batch 16 × sequence 128, d = 256, expert hidden 512, top-2,
 * 4 heads of 64, vocabulary 512, DAG width 64, ~10M parameters).
 *
 * <p>FLOP counts: matrix products 2mnk; attention the causal half (S(S+1)/2 pairs) of its products; the
 * pointwise/normalisation ops a nominal count per element (named in {@link #cases()}), so their GFLOP/s
 * compare backends rather than hardware limits (these ops are memory- or exp-bound).
 */
public final class KernelSuite {

    /** One benchmark: {@code prepare} allocates inputs for a backend and returns the timed action. */
    public record Case(String op, String shape, double flops, Function<Backend, Runnable> prepare) {}

    private KernelSuite() {}

    static float[] rand(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    static int[] randInts(long seed, int n, int bound) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(bound);
        }
        return a;
    }

    /** form 0: A·B, 1: A·Bᵀ, 2: Aᵀ·B. */
    static Case matmul(String what, int form, int m, int n, int k) {
        String op = (form == 0 ? "matmul" : form == 1 ? "matmulABt" : "matmulAtB") + (what.isEmpty() ? "" : " (" + what + ")");
        return new Case(op, m + "x" + n + "x" + k, 2.0 * m * n * k, be -> {
            float[] a = rand(1, m * k, 1), b = rand(2, k * n, 1), c = new float[m * n];
            switch (form) {
                case 0: return () -> be.matmul(a, 0, b, 0, c, 0, m, n, k, false);
                case 1: return () -> be.matmulABt(a, 0, b, 0, c, 0, m, n, k, false);
                default: return () -> be.matmulAtB(a, 0, b, 0, c, 0, m, n, k, false);
            }
        });
    }

    /**
     * A model's kernel shapes: batch × seq tokens, d_model, heads, expert hidden, top-K, vocabulary, DAG width,
     * and the parameter count the AdamW case updates.
     */
    public record ModelShape(int batch, int seq, int d, int heads, int expertHidden, int topK, int vocab, int dagWidth,
                             long params) {
        /** The default model (configs/peer-ref.json): see the class comment. */
        public static final ModelShape DEFAULT = new ModelShape(16, 128, 256, 4, 512, 2, 512, 64, 10_000_000);
    }

    /** The 1024³ products, then every case at the default model's shapes. */
    public static List<Case> cases() {
        return cases(ModelShape.DEFAULT, true);
    }

    /** Every case at {@code shape}'s shapes; {@code square} puts the 1024³ matrix products first. */
    public static List<Case> cases(ModelShape shape, boolean square) {
        final int B = shape.batch(), S = shape.seq(), T = B * S, D = shape.d(), DE = shape.expertHidden(), K = shape.topK(),
                H = shape.heads(), HD = D / H, V = shape.vocab(), G = shape.dagWidth();
        List<Case> cs = new ArrayList<>();
        if (square) {
            cs.add(matmul("", 0, 1024, 1024, 1024));
            cs.add(matmul("", 1, 1024, 1024, 1024));
            cs.add(matmul("", 2, 1024, 1024, 1024));
        }
        int slots = T * K;
        // expert products over 2048 gathered rows (all experts' rows together; one expert sees T·K/N of them)
        cs.add(matmul("expert gate/up fwd", 1, T, DE, D));
        cs.add(matmul("expert down fwd", 1, T, D, DE));
        cs.add(matmul("expert dX", 0, T, D, DE));
        cs.add(matmul("expert dW", 2, DE, D, T));
        cs.add(matmul("one small expert", 1, 3, DE, D));
        cs.add(matmul("lm head fwd", 1, T, V, D));

        long pairs = (long) B * H * S * (S + 1) / 2;
        cs.add(new Case("attentionForward", "B" + B + " S" + S + " H" + H + " hd" + HD, 2.0 * 2 * pairs * HD, be -> {
            int tok = B * S * H * HD;
            float[] q = rand(3, tok, 1), k = rand(4, tok, 1), v = rand(5, tok, 1), probs = new float[B * H * S * S], out = new float[tok];
            return () -> be.attentionForward(q, k, v, probs, out, B, S, H, HD);
        }));
        cs.add(new Case("attentionBackward", "B" + B + " S" + S + " H" + H + " hd" + HD, 4.0 * 2 * pairs * HD, be -> {
            int tok = B * S * H * HD;
            float[] q = rand(3, tok, 1), k = rand(4, tok, 1), v = rand(5, tok, 1), probs = new float[B * H * S * S], out = new float[tok];
            be.attentionForward(q, k, v, probs, out, B, S, H, HD);
            float[] dOut = rand(6, tok, 1), dq = new float[tok], dk = new float[tok], dv = new float[tok], scratch = new float[B * H * S * S];
            return () -> be.attentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, HD);
        }));
        // rmsnorm: 4 FLOP/element forward (square-add, 2 mul + reduction), 8 backward
        cs.add(new Case("rmsnormForward", T + "x" + D, 4.0 * T * D, be -> {
            float[] x = rand(7, T * D, 1), w = rand(8, D, 1), y = new float[T * D], rstd = new float[T];
            return () -> be.rmsnormForward(x, w, y, rstd, T, D, 1e-5f);
        }));
        cs.add(new Case("rmsnormBackward", T + "x" + D, 8.0 * T * D, be -> {
            float[] x = rand(7, T * D, 1), w = rand(8, D, 1), y = new float[T * D], rstd = new float[T];
            be.rmsnormForward(x, w, y, rstd, T, D, 1e-5f);
            float[] dy = rand(9, T * D, 1), dx = new float[T * D], dw = new float[D];
            return () -> be.rmsnormBackward(x, w, rstd, dy, dx, dw, T, D);
        }));
        // swiglu over the T·K slot rows of the experts: 5 FLOP/element forward (exp counted as 1), 10 backward
        cs.add(new Case("swigluForward", slots + "x" + DE, 5.0 * slots * DE, be -> {
            float[] g = rand(10, slots * DE, 2), u = rand(11, slots * DE, 1), out = new float[slots * DE];
            return () -> be.swigluForward(g, u, out, slots * DE);
        }));
        cs.add(new Case("swigluBackward", slots + "x" + DE, 10.0 * slots * DE, be -> {
            float[] g = rand(10, slots * DE, 2), u = rand(11, slots * DE, 1), dOut = rand(12, slots * DE, 1);
            float[] dg = new float[slots * DE], du = new float[slots * DE];
            return () -> be.swigluBackward(g, u, dOut, dg, du, slots * DE);
        }));
        // cross-entropy: 4 FLOP/element forward (max, sub, exp, add), 4 backward
        cs.add(new Case("crossEntropyForward", T + "x" + V, 4.0 * T * V, be -> {
            float[] logits = rand(13, T * V, 3), loss = new float[T], lse = new float[T];
            int[] targets = randInts(14, T, V);
            return () -> be.crossEntropyForward(logits, targets, loss, lse, T, V);
        }));
        cs.add(new Case("crossEntropyBackward", T + "x" + V, 4.0 * T * V, be -> {
            float[] logits = rand(13, T * V, 3), loss = new float[T], lse = new float[T], dl = new float[T * V];
            int[] targets = randInts(14, T, V);
            be.crossEntropyForward(logits, targets, loss, lse, T, V);
            return () -> be.crossEntropyBackward(logits, targets, lse, dl, T, V, 1f / T);
        }));
        // DAG pairwise: per (token, i, j, channel) 7 FLOP forward (gate with exp, message, gated add), 20 backward
        cs.add(new Case("dagPairwiseForward", "T" + T + " K" + K + " g" + G, 7.0 * T * K * K * G, be -> {
            float[] p = rand(15, T * K * 4 * G, 2), out = new float[T * K * G];
            return () -> be.dagPairwiseForward(p, out, T, K, G);
        }));
        cs.add(new Case("dagPairwiseBackward", "T" + T + " K" + K + " g" + G, 20.0 * T * K * K * G, be -> {
            float[] p = rand(15, T * K * 4 * G, 2), dOut = rand(16, T * K * G, 1), dp = new float[T * K * 4 * G];
            return () -> be.dagPairwiseBackward(p, dOut, dp, T, K, G);
        }));
        // expert dispatch data movement: counted as 1 FLOP per element moved/added
        cs.add(new Case("gatherRows", slots + "x" + D, (double) slots * D, be -> {
            float[] x = rand(17, T * D, 1), dst = new float[slots * D];
            int[] order = new int[slots];
            for (int s = 0; s < slots; s++) {
                order[s] = (int) ((s * 7919L) % slots);
            }
            return () -> be.gatherRows(x, order, K, dst, slots, D);
        }));
        cs.add(new Case("sumSlotRows", T + "x" + K + "x" + D, (double) slots * D, be -> {
            float[] src = rand(18, slots * D, 1), dst = new float[T * D];
            int[] position = new int[slots];
            for (int s = 0; s < slots; s++) {
                position[s] = (int) ((s * 7919L) % slots);
            }
            return () -> be.sumSlotRows(src, position, dst, T, K, D, false);
        }));
        cs.add(new Case("embeddingBackward", T + "x" + D + " V" + V, (double) T * D, be -> {
            float[] dOut = rand(19, T * D, 1), dTable = new float[V * D];
            int[] tokens = randInts(20, T, V);
            return () -> be.embeddingBackward(dOut, tokens, dTable, T, D, V);
        }));
        // AdamW: ~15 FLOP per parameter
        int nParams = (int) shape.params();
        String millions = nParams % 1_000_000 == 0 ? Integer.toString(nParams / 1_000_000)
                : String.format(java.util.Locale.ROOT, "%.2f", nParams / 1e6);
        cs.add(new Case("adamw", millions + "M params", 15.0 * nParams, be -> {
            float[] p = rand(21, nParams, 0.02), g = rand(22, nParams, 1e-3), m = new float[nParams], v = new float[nParams];
            return () -> be.adamw(p, g, m, v, nParams, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.1f, 0.05f);
        }));
        return cs;
    }
}
