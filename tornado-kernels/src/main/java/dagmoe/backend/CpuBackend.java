package dagmoe.backend;

import dagmoe.backend.cpu.AttentionCpu;
import dagmoe.backend.cpu.DagCpu;
import dagmoe.backend.cpu.Elementwise;
import dagmoe.backend.cpu.Gemm;
import dagmoe.backend.cpu.NormCpu;
import dagmoe.backend.cpu.Pointwise;
import dagmoe.backend.cpu.RopeCpu;
import dagmoe.backend.cpu.Vec;
import dagmoe.backend.cpu.WorkerPool;

import static dagmoe.backend.Shapes.matrix;
import static dagmoe.backend.Shapes.vectors;

/**
 * The fast CPU path: the {@link JavaBackend}'s shape checks and semantics, with the operations that dominate
 * an MoE training step rewritten for speed — the three matrix products (packed, cache-blocked Vector API
 * micro-kernel, see {@link Gemm}), attention, RMSNorm, SwiGLU, GELU, cross-entropy, AdamW, embedding backward,
 * expert gather/scatter, rotary embedding (a cached cos/sin table), the DAG pairwise step and its edge-gate
 * means, and the memory-bound elementwise ops — multithreaded over fixed ranges of rows/tokens/columns.
 * Operations not overridden run the portable kernels sequentially (they are cheap: router, dispatch plan).
 * Reductions across threads (dagGateMeans over tokens, RMSNorm's weight gradient over rows) use partial sums
 * over blocks fixed by the shape alone, combined in block order.
 *
 * <p>Determinism: loops are cut into chunks with fixed boundaries by {@link WorkerPool} (threads claim whole
 * chunks; no partial work is stolen), every output element is produced by exactly one chunk in a fixed order
 * that does not depend on the thread running it, and lane sums use a fixed order, so the same inputs and
 * thread count give the same bits. Results agree with {@code java} to float rounding (sums
 * are reassociated: vector lanes, FMA, k-blocking).
 */
public class CpuBackend extends JavaBackend {
    private static final int L = Vec.L;

    private final WorkerPool pool;
    private final Gemm gemm;
    private volatile RopeCpu.Table ropeTable; // cos/sin of the last (seq, headDim, theta): one model, one shape

    public CpuBackend(int threads) {
        this.pool = new WorkerPool(threads);
        this.gemm = new Gemm(pool);
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public int threads() {
        return pool.threads();
    }

    @Override
    public void close() {
        pool.close();
    }

    // ---------------------------------------------------------------- matrix products (strides select the form)

    @Override
    public void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmul", a, aOff, b, bOff, c, cOff, m, n, k);
        // A[m×k]: (i,p) at i·k + p;  B[k×n]: (p,j) at p·n + j
        gemm.multiply(a, aOff, k, 1, b, bOff, n, 1, c, cOff, m, n, k, accumulate);
    }

    @Override
    public void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulABt", a, aOff, b, bOff, c, cOff, m, n, k);
        // B[n×k] read as Bᵀ: (p,j) at j·k + p
        gemm.multiply(a, aOff, k, 1, b, bOff, 1, k, c, cOff, m, n, k, accumulate);
    }

    @Override
    public void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate) {
        Shapes.matmul("matmulAtB", a, aOff, b, bOff, c, cOff, m, n, k);
        // A[k×m] read as Aᵀ: (i,p) at p·m + i
        gemm.multiply(a, aOff, 1, m, b, bOff, n, 1, c, cOff, m, n, k, accumulate);
    }

    // ---------------------------------------------------------------- grouped expert products
    // One Gemm.multiplyGrouped per family: one hand-off to the threads for all experts (a task is one expert whole,
    // cut only when it alone is more than a thread's share; it packs its expert's weight panels and computes their
    // tiles), so the threads balance over all experts' work rather than within each small product.

    @Override
    public void groupedMatmulABt(float[] x, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                                 boolean accumulate) {
        grouped("groupedMatmulABt", x, w, true, y, offsets, S, N, n, k, accumulate);
    }

    @Override
    public void groupedMatmul(float[] dy, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                              boolean accumulate) {
        grouped("groupedMatmul", dy, w, false, y, offsets, S, N, n, k, accumulate);
    }

    /**
     * The rows of expert e of y (+)= its rows of a times w[e], a's rows (i,p) at i·k + p: w[e] [n×k] read as w[e]ᵀ,
     * (p,j) at j·k + p ({@code transposed}, groupedMatmulABt), or w[e] [k×n], (p,j) at p·n + j (groupedMatmul).
     */
    private void grouped(String op, float[] a, float[] w, boolean transposed, float[] y, int[] offsets, int S, int N,
                         int n, int k, boolean accumulate) {
        Shapes.grouped(op, a, S, k, w, N, transposed ? n : k, transposed ? k : n, y, n, offsets);
        Group gr = group(op, offsets, N);
        gr.rowProducts(offsets, n, k);
        gemm.multiplyGrouped(gr.count, a, gr.aOff, k, 1, w, gr.bOff, transposed ? 1 : n, transposed ? k : 1, y, gr.cOff,
                gr.m, n, gr.k, accumulate);
    }

    @Override
    public void groupedMatmulAtB(float[] a, float[] b, float[] g, int[] offsets, int S, int N, int m, int n) {
        Shapes.grouped("groupedMatmulAtB", a, S, m, g, N, m, n, b, n, offsets);
        Group gr = group("groupedMatmulAtB", offsets, N);
        for (int q = 0; q < gr.count; q++) {
            int e = gr.expert[q], o = offsets[e];
            gr.aOff[q] = o * m; gr.bOff[q] = o * n; gr.cOff[q] = e * m * n; gr.m[q] = m; gr.k[q] = offsets[e + 1] - o;
        }
        // a rows of e read as aᵀ: (i,p) at p·m + i; b rows (p,j) at p·n + j; g[e] += over the expert's rows
        gemm.multiplyGrouped(gr.count, a, gr.aOff, 1, m, b, gr.bOff, n, 1, g, gr.cOff, gr.m, n, gr.k, true);
    }

    /** The experts with rows, in expert order, and room for their products' offsets and sizes. */
    private static final class Group {
        final int count;
        final int[] expert, aOff, bOff, cOff, m, k;

        Group(int count, int[] expert) {
            this.count = count;
            this.expert = expert;
            aOff = new int[count]; bOff = new int[count]; cOff = new int[count]; m = new int[count]; k = new int[count];
        }

        /** Each expert's product over its rows: [rows×k] input at row offset, weights e·n·k, [rows×n] output. */
        void rowProducts(int[] offsets, int n, int kk) {
            for (int q = 0; q < count; q++) {
                int e = expert[q], o = offsets[e];
                aOff[q] = o * kk; bOff[q] = e * n * kk; cOff[q] = o * n; m[q] = offsets[e + 1] - o; k[q] = kk;
            }
        }
    }

    private Group group(String op, int[] offsets, int N) {
        toHost(offsets);
        int[] experts = new int[N];
        int count = 0;
        for (int e = 0; e < N; e++) {
            if (offsets[e + 1] < offsets[e]) {
                throw new IllegalArgumentException(op + ": offsets decrease at expert " + e + " (" + offsets[e] + " > " + offsets[e + 1] + ")");
            }
            if (offsets[e + 1] > offsets[e]) {
                experts[count++] = e;
            }
        }
        return new Group(count, java.util.Arrays.copyOf(experts, count));
    }

    // ---------------------------------------------------------------- elementwise (memory-bound: threads own index ranges)
    // The java kernels' operations without FMA contraction, so the bits equal java's.

    @Override
    public void fill(float[] x, int n, float value) {
        vectors("fill", n, "x", x, null, null);
        pool.forRange(n, 1, (i0, i1) -> java.util.Arrays.fill(x, i0, i1, value));
    }

    @Override
    public void copy(float[] src, float[] dst, int n) {
        vectors("copy", n, "src", src, "dst", dst);
        pool.forRange(n, 1, (i0, i1) -> System.arraycopy(src, i0, dst, i0, i1 - i0));
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        vectors("axpy", n, "x", x, "y", y);
        pool.forRange(n, 2, (i0, i1) -> Elementwise.axpy(alpha, x, y, i0, i1));
    }

    @Override
    public void scale(float[] x, int n, float alpha) {
        vectors("scale", n, "x", x, null, null);
        pool.forRange(n, 1, (i0, i1) -> Elementwise.scale(x, alpha, i0, i1));
    }

    @Override
    public void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d) {
        checkTokenSlots("addTokenToSlots", new String[] {"x", "out"}, new float[][] {x, out}, "h", h, T, K, d);
        pool.forRange(T, 2L * K * d, (t0, t1) -> Elementwise.addTokenToSlots(x, h, alpha, out, t0, t1, K, d));
    }

    // ---------------------------------------------------------------- reductions

    @Override
    public double sumSquares(float[] x, int n) {
        if (!Elementwise.SUM_SQUARES_VECTOR) {
            return super.sumSquares(x, n);
        }
        vectors("sumSquares", n, "x", x, null, null);
        // the java backend's chunks and per-chunk sums (vectorised, same order): identical bits to java
        int chunks = (n + REDUCE_CHUNK - 1) / REDUCE_CHUNK;
        double[] partials = new double[chunks];
        pool.forRange(chunks, REDUCE_CHUNK, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                partials[c] = Elementwise.sumSquares(x, c * REDUCE_CHUNK, Math.min(n, (c + 1) * REDUCE_CHUNK));
            }
        });
        return sum(partials);
    }

    // ---------------------------------------------------------------- embedding

    @Override
    public void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V) {
        checkEmbeddingBackward(dOut, tokens, dTable, T, d, V);
        // threads own column ranges and walk the tokens in order (a repeated token never races)
        forColumns(d, T, (c0, c1) -> {
            for (int t = 0; t < T; t++) {
                Vec.add(dOut, t * d + c0, dTable, tokens[t] * d + c0, c1 - c0);
            }
        });
    }

    // ---------------------------------------------------------------- RMSNorm

    @Override
    public void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps) {
        checkRmsnorm("rmsnormForward", x, w, y, rstd, rows, d);
        pool.forRange(rows, 3L * d, (r0, r1) -> NormCpu.forward(x, w, y, rstd, r0, r1, d, eps));
    }

    @Override
    public void rmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d) {
        checkRmsnormBackward(x, w, rstd, dy, dx, dw, rows, d);
        // One pass over fixed blocks of rows (boundaries depend on rows alone, NormCpu.backwardBlocks); the
        // blocks' partial dw are then added per column in double, blocks in order: the same bits for any thread count.
        int blocks = (rows + NormCpu.BLOCK - 1) / NormCpu.BLOCK;
        float[] part = new float[blocks * d];
        pool.forRange(blocks, 7L * NormCpu.BLOCK * d, (b0, b1) -> NormCpu.backwardBlocks(x, w, rstd, dy, dx, part, b0, b1, rows, d));
        forColumns(d, 2L * blocks, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double s = 0.0;
                for (int b = 0; b < blocks; b++) {
                    s += part[b * d + c];
                }
                dw[c] += (float) s;
            }
        });
    }

    // ---------------------------------------------------------------- activations (exp-bound: vector exp, threaded)

    @Override
    public void swigluForward(float[] gate, float[] up, float[] out, int n) {
        vectors("swigluForward", n, "gate", gate, "up", up);
        vectors("swigluForward", n, "out", out, null, null);
        pool.forRange(n, 8, (i0, i1) -> Pointwise.swigluForward(gate, up, out, i0, i1));
    }

    @Override
    public void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n) {
        vectors("swigluBackward", n, "gate", gate, "up", up);
        vectors("swigluBackward", n, "dOut", dOut, "dGate", dGate);
        vectors("swigluBackward", n, "dUp", dUp, null, null);
        pool.forRange(n, 12, (i0, i1) -> Pointwise.swigluBackward(gate, up, dOut, dGate, dUp, i0, i1));
    }

    @Override
    public void geluForward(float[] x, float[] y, int n) {
        vectors("geluForward", n, "x", x, "y", y);
        pool.forRange(n, 10, (i0, i1) -> Pointwise.geluForward(x, y, i0, i1));
    }

    @Override
    public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
        vectors("geluBackward", n, "x", x, "dy", dy);
        vectors("geluBackward", n, "dx", dx, null, null);
        pool.forRange(n, 14, (i0, i1) -> Pointwise.geluBackward(x, dy, dx, i0, i1));
    }

    // ---------------------------------------------------------------- rotary embedding (cached cos/sin table, threads own tokens)

    private RopeCpu.Table ropeTable(int seq, int headDim, float theta) {
        RopeCpu.Table t = ropeTable;
        if (t == null || !t.matches(seq, headDim, theta)) {
            t = new RopeCpu.Table(seq, headDim, theta);
            ropeTable = t;
        }
        return t;
    }

    @Override
    public void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeForward", "x", x, "out", out, T, seq, heads, headDim);
        RopeCpu.Table tab = ropeTable(seq, headDim, theta);
        pool.forRange(T, 3L * heads * headDim, (t0, t1) -> RopeCpu.forward(x, out, t0, t1, heads, headDim, tab));
    }

    @Override
    public void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta) {
        checkRope("ropeBackward", "dOut", dOut, "dx", dx, T, seq, heads, headDim);
        RopeCpu.Table tab = ropeTable(seq, headDim, theta);
        pool.forRange(T, 3L * heads * headDim, (t0, t1) -> RopeCpu.backward(dOut, dx, t0, t1, heads, headDim, tab));
    }

    // ---------------------------------------------------------------- attention (threads own (batch, head) pairs)

    @Override
    public void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd) {
        checkAttention("attentionForward", new float[][] {q, k, v, out}, new String[] {"q", "k", "v", "out"},
                new float[][] {probs}, new String[] {"probs"}, B, S, H, hd);
        float scale = 1f / (float) Math.sqrt(hd);
        int d = H * hd;
        pool.forRange(B * H, (long) S * S * hd, (bh0, bh1) -> {
            AttentionCpu.Scratch scratch = new AttentionCpu.Scratch(S, hd);
            for (int bh = bh0; bh < bh1; bh++) {
                int b = bh / H, h = bh % H;
                AttentionCpu.forward(q, k, v, probs, out, b * S * d + h * hd, bh * S * S, S, d, hd, scale, scratch, true);
            }
        });
    }

    @Override
    public void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                                  float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd) {
        checkAttentionBackward(q, k, v, probs, dOut, dq, dk, dv, scratch, B, S, H, hd);
        float scale = 1f / (float) Math.sqrt(hd);
        int d = H * hd;
        pool.forRange(B * H, 3L * S * S * hd, (bh0, bh1) -> {
            AttentionCpu.Scratch s = new AttentionCpu.Scratch(S, hd);
            for (int bh = bh0; bh < bh1; bh++) {
                int b = bh / H, h = bh % H;
                AttentionCpu.backward(q, k, v, probs, dOut, dq, dk, dv, scratch, b * S * d + h * hd, bh * S * S, S, d, hd,
                        scale, s, true);
            }
        });
    }

    // ---------------------------------------------------------------- expert dispatch

    @Override
    public void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d) {
        checkGatherRows(src, index, divisor, dst, n, d);
        pool.forRange(n, d, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                System.arraycopy(src, (index[p] / divisor) * d, dst, p * d, d);
            }
        });
    }

    @Override
    public void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate) {
        checkSumSlotRows(src, position, dst, T, K, d);
        // s = Σ_i src rows in slot order, then dst (+)= s: the java kernel's order, so identical bits
        pool.forRange(T, (long) K * d, (t0, t1) -> {
            float[] s = new float[d];
            for (int t = t0; t < t1; t++) {
                java.util.Arrays.fill(s, 0f);
                for (int i = 0; i < K; i++) {
                    Vec.add(src, position[t * K + i] * d, s, 0, d);
                }
                if (accumulate) {
                    Vec.add(s, 0, dst, t * d, d);
                } else {
                    System.arraycopy(s, 0, dst, t * d, d);
                }
            }
        });
    }

    // ---------------------------------------------------------------- DAG pairwise step (threads own tokens)

    @Override
    public void dagPairwiseForward(float[] p, float[] out, int T, int K, int g) {
        checkDag("dagPairwiseForward", new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        pool.forRange(T, 20L * K * K * g, (t0, t1) -> DagCpu.pairwiseForward(p, out, t0, t1, K, g, null, 0));
    }

    @Override
    public void dagPairwiseForwardWithGateMeans(float[] p, float[] out, float[] gateMeans, int T, int K, int g) {
        String op = "dagPairwiseForwardWithGateMeans";
        Shapes.positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[] {"out"}, new float[][] {out}, T, K, g);
        matrix(op, "gateMeans", gateMeans, K, K, "K", "K");
        // one gate evaluation feeds both; per-chunk double partials (chunks fixed by T alone), combined in chunk
        // order: out and the means have the bits of dagPairwiseForward and dagGateMeans, for any thread count
        int chunks = (T + DagCpu.GATE_CHUNK - 1) / DagCpu.GATE_CHUNK;
        double[] part = new double[chunks * K * K];
        pool.forRange(chunks, 20L * DagCpu.GATE_CHUNK * K * K * g, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                DagCpu.pairwiseForward(p, out, c * DagCpu.GATE_CHUNK, Math.min(T, (c + 1) * DagCpu.GATE_CHUNK), K, g, part, c * K * K);
            }
        });
        gateMeansFromPartials(part, gateMeans, chunks, T, K);
    }

    @Override
    public void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g) {
        checkDag("dagPairwiseBackward", new String[] {"p", "dp"}, new float[][] {p, dp}, new String[] {"dOut"},
                new float[][] {dOut}, T, K, g);
        // one sigmoid per (i, j, channel) feeds all four gradients (the java kernel evaluates each twice)
        pool.forRange(T, 30L * K * K * g, (t0, t1) -> DagCpu.pairwiseBackward(p, dOut, dp, t0, t1, K, g, new float[4 * K * g],
                DagCpu.expScratch(K, g), DagCpu.gateScratch(K, g)));
    }

    @Override
    public void dagGateMeans(float[] p, float[] out, int T, int K, int g) {
        String op = "dagGateMeans";
        Shapes.positive(op, "T", T);
        checkDag(op, new String[] {"p"}, new float[][] {p}, new String[0], new float[0][], T, K, g);
        matrix(op, "out", out, K, K, "K", "K");
        // per-chunk double partials (chunks fixed by T alone), combined in chunk order: the same bits for any thread count
        int chunks = (T + DagCpu.GATE_CHUNK - 1) / DagCpu.GATE_CHUNK;
        double[] part = new double[chunks * K * K];
        pool.forRange(chunks, 20L * DagCpu.GATE_CHUNK * K * K * g,
                (c0, c1) -> DagCpu.gateMeanPartials(p, part, c0, c1, T, K, g));
        gateMeansFromPartials(part, out, chunks, T, K);
    }

    private static void gateMeansFromPartials(double[] part, float[] out, int chunks, int T, int K) {
        for (int ij = 0; ij < K * K; ij++) {
            double total = 0.0;
            for (int c = 0; c < chunks; c++) {
                total += part[c * K * K + ij];
            }
            out[ij] = (float) (total / T);
        }
    }

    // ---------------------------------------------------------------- loss

    @Override
    public void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V) {
        checkCrossEntropy("crossEntropyForward", logits, targets, loss, "loss", lse, "lse", T, V);
        pool.forRange(T, 20L * V, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int base = t * V;
                float max = Vec.max(logits, base, V);
                float sum = Pointwise.sumExp(logits, base, base + V, max);
                float l = max + (float) Math.log(sum);
                lse[t] = l;
                int y = targets[t];
                loss[t] = y >= 0 ? l - logits[base + y] : 0f;
            }
        });
    }

    @Override
    public void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale) {
        String op = "crossEntropyBackward";
        checkCrossEntropy(op, logits, targets, lse, "lse", null, null, T, V);
        matrix(op, "dLogits", dLogits, T, V, "T", "V");
        pool.forRange(T, 20L * V, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                int base = t * V;
                int y = targets[t];
                if (y < 0) {
                    java.util.Arrays.fill(dLogits, base, base + V, 0f);
                    continue;
                }
                float l = lse[t];
                Pointwise.scaledExp(logits, base, base + V, l, scale, dLogits, base);
                dLogits[base + y] = scale * (Vec.exp(logits[base + y] - l) - 1f);
            }
        });
    }

    // ---------------------------------------------------------------- optimizer

    @Override
    public void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
                      float weightDecay, float bc1, float bc2) {
        vectors("adamw", n, "p", p, "g", g);
        vectors("adamw", n, "m", m, "v", v);
        // the java kernel's operations in its order, lane by lane (no FMA contraction): identical bits
        pool.forRange(n, 12, (i0, i1) -> Elementwise.adamw(p, g, m, v, i0, i1, lr, beta1, beta2, eps, weightDecay, bc1, bc2));
    }

    // ---------------------------------------------------------------- helpers

    /** Splits columns [0, d) into fixed chunks aligned to the vector width (rowsCost = work per column). */
    private void forColumns(int d, long rowsCost, WorkerPool.Range body) {
        int units = (d + L - 1) / L;
        pool.forRange(units, rowsCost * L, (u0, u1) -> body.run(Math.min(d, u0 * L), Math.min(d, u1 * L)));
    }
}
