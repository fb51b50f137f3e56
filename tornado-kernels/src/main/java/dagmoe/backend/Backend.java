package dagmoe.backend;

/**
 * The operations the framework calls. Every model layer does all of its arithmetic through these
 * methods, so the same model runs on {@code java} (the portable kernels, sequential: the reference),
 * {@code cpu} (multithreaded, blocked, Vector API) and {@code tornado} (the same portable kernels
 * compiled by TornadoVM).
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>All tensors are row-major flat {@code float[]} (indices {@code int[]}). Matrix products take an
 *       offset per array so that a slice (one expert's weights, one expert's rows) is addressed in place.
 *       Other operations start at index 0 of each array.</li>
 *   <li>Linear layers store weights as {@code [out × in]} (PyTorch's layout), so a forward is
 *       {@link #matmulABt}, the input gradient {@link #matmul} and the weight gradient {@link #matmulAtB}.</li>
 *   <li>Forward operations OVERWRITE their outputs. Backward operations ACCUMULATE ({@code +=}) into every
 *       gradient they produce (input and parameter gradients), unless the javadoc says otherwise; the
 *       caller zeroes gradients once per step.</li>
 *   <li>Shapes are checked here, at the boundary: an array too short for the given sizes and offsets, or a
 *       non-positive size where one is required, throws {@link IllegalArgumentException} naming the
 *       operation and the shapes. Kernels themselves are check-free.</li>
 *   <li>Determinism: the same inputs and the same thread count give the same bits.</li>
 *   <li>Residency: a device backend ({@code tornado}) may keep arrays on the device between operations, so the
 *       host copy of an array an operation wrote can be stale, and a host write is invisible to the device until
 *       announced. Host code calls {@link #toHost} before it READS an array that backend operations wrote (losses,
 *       metrics, checkpoints, logits) and {@link #hostWrote} after it WRITES an array that backend operations will
 *       read (inputs, targets, loaded weights and moments). Arrays the backend has never seen need neither. Both
 *       are no-ops on {@code java} and {@code cpu}, where the host arrays are the only copy.</li>
 * </ul>
 *
 * <p>Notation: {@code T} tokens (batch × sequence), {@code d} model width, {@code N} experts,
 * {@code K} selected experts per token, {@code V} vocabulary.
 */
public interface Backend extends AutoCloseable {

    /** {@code java}, {@code cpu} or {@code tornado}. */
    String name();

    /** Worker threads this backend uses (1 for {@code java}). */
    int threads();

    @Override
    default void close() {}

    /**
     * Whether instances of this backend (one per device) may run operations from different host threads at the
     * same time. {@link dagmoe.backend.Backend}s that share a runtime that is not thread-safe say false, and a
     * group of devices then runs them one after the other.
     */
    default boolean concurrentInstances() {
        return true;
    }

    /**
     * Device backends: whether to time every kernel and transfer from now on (a device profiler, which waits for each
     * event it times) or not (training, where only the step's time counts). A no-op where nothing is profiled.
     */
    default void setProfiling(boolean on) {}

    /** Makes the host copies of these arrays ({@code float[]}, {@code int[]}) current: call before host code reads them. */
    default void toHost(Object... arrays) {}

    /** Host code changed these arrays: a device backend uploads them before the next operation reads them. */
    default void hostWrote(Object... arrays) {}

    /**
     * True when this backend records operations and runs them at its sync points ({@link #toHost}, {@link #hostWrote}
     * of an array a recorded operation uses), so that every host read in the middle of a step costs a device
     * execution and a wait: callers then leave losses, metrics and the gradient norm on the device and read them
     * together once the step is recorded ({@code tornado}'s step graph). False on {@code java} and {@code cpu}.
     */
    default boolean defersReads() {
        return false;
    }

    // ---------------------------------------------------------------- matrix products
    // C[m×n] = (accumulate ? C : 0) + op(A)·op(B). Row-major, contiguous rows (leading dimension = row length).

    /** C[m×n] (+)= A[m×k] · B[k×n]. */
    void matmul(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate);

    /** C[m×n] (+)= A[m×k] · B[n×k]ᵀ. The forward of a linear layer with weight B. */
    void matmulABt(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate);

    /** C[m×n] (+)= A[k×m]ᵀ · B[k×n]. The weight gradient of a linear layer. */
    void matmulAtB(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k, boolean accumulate);

    // ---------------------------------------------------------------- grouped expert products
    // Over the S expert-sorted rows of the dropless dispatch: expert e owns rows [offsets[e], offsets[e+1]) and its
    // weights w[e] are the e-th block of a stacked [N × ...] array. The defaults run one product per expert with a
    // row (reading offsets on the host); a device backend runs ONE grouped kernel reading offsets on the device
    // (dagmoe.kernels.GroupedKernels computes exactly the per-expert loop's sums).

    /** y[S×n] (+)= per expert e: x[rows of e] · w[e]ᵀ, x = [S×k], w = [N×n×k] (gate, up, down forward). */
    default void groupedMatmulABt(float[] x, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                                  boolean accumulate) {
        Shapes.grouped("groupedMatmulABt", x, S, k, w, N, n, k, y, n, offsets);
        eachExpert(offsets, N, (e, o) -> matmulABt(x, o * k, w, e * n * k, y, o * n, offsets[e + 1] - o, n, k, accumulate));
    }

    /** y[S×n] (+)= per expert e: dy[rows of e] · w[e], dy = [S×k], w = [N×k×n] (input gradients). */
    default void groupedMatmul(float[] dy, float[] w, float[] y, int[] offsets, int S, int N, int n, int k,
                               boolean accumulate) {
        Shapes.grouped("groupedMatmul", dy, S, k, w, N, k, n, y, n, offsets);
        eachExpert(offsets, N, (e, o) -> matmul(dy, o * k, w, e * k * n, y, o * n, offsets[e + 1] - o, n, k, accumulate));
    }

    /** g[e] += a[rows of e]ᵀ · b[rows of e] for every expert e, a = [S×m], b = [S×n], g = [N×m×n] (weight gradients). */
    default void groupedMatmulAtB(float[] a, float[] b, float[] g, int[] offsets, int S, int N, int m, int n) {
        Shapes.grouped("groupedMatmulAtB", a, S, m, g, N, m, n, b, n, offsets);
        eachExpert(offsets, N, (e, o) -> matmulAtB(a, o * m, b, o * n, g, e * m * n, m, n, offsets[e + 1] - o, true));
    }

    /** Calls {@code product}(expert, its first row) for every expert with rows, in expert order (offsets read on the host). */
    private void eachExpert(int[] offsets, int N, java.util.function.BiConsumer<Integer, Integer> product) {
        toHost(offsets);
        for (int e = 0; e < N; e++) {
            if (offsets[e + 1] > offsets[e]) {
                product.accept(e, offsets[e]);
            }
        }
    }

    // ---------------------------------------------------------------- elementwise and reductions

    /** x[0..n) = value. */
    void fill(float[] x, int n, float value);

    /** dst[0..n) = src[0..n). */
    void copy(float[] src, float[] dst, int n);

    /** y[0..n) += alpha · x[0..n). */
    void axpy(float alpha, float[] x, float[] y, int n);

    /** x[0..n) *= alpha. */
    void scale(float[] x, int n, float alpha);

    /** Σ x[i]², accumulated in double in a fixed order (deterministic for a given thread count). */
    double sumSquares(float[] x, int n);

    /**
     * Global-norm clipping of {@code grads[i][0..sizes[i])}: norm[0] = √(Σ_i sumSquares(grads[i])), summed in double
     * in order; when {@code maxNorm} > 0 and norm[0] > maxNorm every gradient is scaled by (float) (maxNorm / norm[0]).
     * A device backend computes both on the device: read norm after {@code toHost(norm)}.
     */
    default void clipGlobalNorm(float[][] grads, int[] sizes, float maxNorm, double[] norm) {
        Shapes.clipGlobalNorm(grads, sizes, norm);
        double sq = 0;
        for (int i = 0; i < grads.length; i++) sq += sumSquares(grads[i], sizes[i]);
        double n = Math.sqrt(sq);
        if (maxNorm > 0 && n > maxNorm) {
            float coef = (float) (maxNorm / n);
            for (int i = 0; i < grads.length; i++) scale(grads[i], sizes[i], coef);
        }
        norm[0] = n;
    }

    /** True if any of x[0..n) is NaN or infinite. */
    boolean hasNonFinite(float[] x, int n);

    // ---------------------------------------------------------------- embedding

    /** out[t×d] = table[tokens[t]×d] for t in [0,T). */
    void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d);

    /** dTable[tokens[t]] += dOut[t] (accumulate; a token that occurs twice gets both rows). V = table rows. */
    void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d, int V);

    // ---------------------------------------------------------------- RMSNorm: y = x · rsqrt(mean(x²) + eps) · w

    /** y[rows×d], saves rstd[rows] = 1/sqrt(mean(x²)+eps) for the backward. */
    void rmsnormForward(float[] x, float[] w, float[] y, float[] rstd, int rows, int d, float eps);

    /** dx[rows×d] += ∂/∂x, dw[d] += ∂/∂w, from dy and the saved rstd. */
    void rmsnormBackward(float[] x, float[] w, float[] rstd, float[] dy, float[] dx, float[] dw, int rows, int d);

    // ---------------------------------------------------------------- activations

    /** SwiGLU gate: out[i] = silu(gate[i]) · up[i], silu(a) = a·sigmoid(a), i in [0,n). */
    void swigluForward(float[] gate, float[] up, float[] out, int n);

    /** dGate[i] += ∂, dUp[i] += ∂ from dOut. */
    void swigluBackward(float[] gate, float[] up, float[] dOut, float[] dGate, float[] dUp, int n);

    /** GELU, tanh approximation (PyTorch {@code approximate='tanh'}): y = 0.5x(1+tanh(√(2/π)(x+0.044715x³))). */
    void geluForward(float[] x, float[] y, int n);

    /** dx[i] += gelu'(x[i]) · dy[i]. */
    void geluBackward(float[] x, float[] dy, float[] dx, int n);

    // ---------------------------------------------------------------- rotary position embedding
    // x is [T × heads × headDim], token t sits at position t % seq. Pairs are interleaved: (x[2i], x[2i+1])
    // is rotated by angle pos · theta^(-2i/headDim), i in [0, headDim/2).

    /** out = rope(x); out may not alias x. */
    void ropeForward(float[] x, float[] out, int T, int seq, int heads, int headDim, float theta);

    /** dx += ropeᵀ(dOut) (the inverse rotation). */
    void ropeBackward(float[] dOut, float[] dx, int T, int seq, int heads, int headDim, float theta);

    // ---------------------------------------------------------------- causal multi-head attention
    // q, k, v, out are [B·S × H × hd] (token-major, heads inside a token's row of width d = H·hd).
    // probs is [B × H × S × S]: softmax over j ≤ i of q_i·k_j/√hd, zero above the diagonal.

    /** out_i = Σ_{j≤i} probs_ij v_j; saves probs. */
    void attentionForward(float[] q, float[] k, float[] v, float[] probs, float[] out, int B, int S, int H, int hd);

    /**
     * dq, dk, dv += gradients given dOut and the saved probs. {@code scratch} has at least B·H·S·S
     * elements and is overwritten (it holds the score gradients).
     */
    void attentionBackward(float[] q, float[] k, float[] v, float[] probs, float[] dOut,
                           float[] dq, float[] dk, float[] dv, float[] scratch, int B, int S, int H, int hd);

    // ---------------------------------------------------------------- router
    // logits, probs are [T × N]; topIdx, gates are [T × K] (slot s = t·K + i is the i-th choice of token t).

    /**
     * probs = softmax(logits); topIdx = the K largest probabilities in descending order, ties to the
     * lower expert index; gates = those probabilities, divided by their sum when {@code normalize}.
     */
    void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize);

    /** dLogits[T×N] += ∂(gates)/∂(logits)ᵀ · dGates, through the renormalisation when {@code normalize}. */
    void routerBackward(float[] probs, int[] topIdx, float[] gates, float[] dGates, float[] dLogits,
                        int T, int N, int K, boolean normalize);

    /**
     * The auxiliary router losses, written to out[0] (load balance) and out[1] (z-loss), coefficients
     * already applied: balance = alpha · N · Σ_e f_e · P_e with f_e = (slots routed to e)/(T·K) and
     * P_e = mean_t probs[t,e]; zloss = beta · mean_t logsumexp(logits_t)².
     */
    void routerAuxForward(float[] logits, float[] probs, int[] topIdx, float[] out, int T, int N, int K,
                          float alpha, float beta);

    /** dLogits += ∂(balance + zloss)/∂logits (f_e is treated as a constant, as in Switch). */
    void routerAuxBackward(float[] logits, float[] probs, int[] topIdx, float[] dLogits, int T, int N, int K,
                           float alpha, float beta);

    /**
     * dLogits[T×N] += ∂(Σ_{t,e} coef[e] · probs[t,e])/∂logits: the balance loss's gradient with its expert
     * fractions given ({@code coef}[N]), for a batch whose routing statistics span several devices
     * (call {@link #routerAuxBackward} with alpha = 0 for the z-loss alone).
     */
    void routerBalanceBackward(float[] probs, float[] coef, float[] dLogits, int T, int N);

    // ---------------------------------------------------------------- dropless expert dispatch
    // The T·K slots are sorted by expert (stable: increasing slot order within an expert), so expert e owns
    // the contiguous positions [offsets[e], offsets[e+1]) of a [T·K × ·] gathered buffer and runs as one
    // matrix product. order[p] = the slot at position p; position[s] = the position of slot s.

    /** counts[N], offsets[N+1], order[T·K], position[T·K] from topIdx[T·K]. */
    void dispatchPlan(int[] topIdx, int[] counts, int[] offsets, int[] order, int[] position, int T, int K, int N);

    /** dst[p×d] = src[(index[p] / divisor)×d] for p in [0,n). Gathers tokens to slots (divisor K) or permutes rows (divisor 1). */
    void gatherRows(float[] src, int[] index, int divisor, float[] dst, int n, int d);

    /** dst[t×d] (+)= Σ_{i<K} src[position[t·K+i] × d]: sums each token's K slot rows back to the token. */
    void sumSlotRows(float[] src, int[] position, float[] dst, int T, int K, int d, boolean accumulate);

    // ---------------------------------------------------------------- aggregation helpers
    // slots[T·K × d] are the selected experts' outputs in slot order (row t·K+i = E_{k[i]}(x_t)).

    /** out[r×d] = scale[r] · x[r×d] for r in [0,rows). (Gated expert outputs g_i · E_i.) */
    void scaleRows(float[] x, float[] scale, float[] out, int rows, int d);

    /** dx[r] += scale[r] · dOut[r];  dScale[r] += dOut[r]·x[r]. */
    void scaleRowsBackward(float[] x, float[] scale, float[] dOut, float[] dx, float[] dScale, int rows, int d);

    /** out[(t·K+i)×d] = x[(t·K+i)×d] + alpha · h[t×d] (the DAG's initial nodes: gated expert + h/K). */
    void addTokenToSlots(float[] x, float[] h, float alpha, float[] out, int T, int K, int d);

    /** The backward of {@link #addTokenToSlots}: dx[(t·K+i)×d] += dOut[(t·K+i)×d]; dh[t×d] += alpha · Σ_i dOut[(t·K+i)×d]. */
    void addTokenToSlotsBackward(float[] dOut, float alpha, float[] dx, float[] dh, int T, int K, int d);

    /**
     * One DAG round's pairwise step over the K nodes of every token, on the projected node features
     * p[T·K × 4g] = [a | b | c | e] (a = A·z, b = B·z, c = C·z, e = D·z, each of width g):
     * out[(t·K+i)×g] = Σ_j sigmoid(a_i + b_j) ⊙ (c_i + e_j), j over all K nodes of token t including i.
     */
    void dagPairwiseForward(float[] p, float[] out, int T, int K, int g);

    /** dp[T·K × 4g] += gradients of the four projections given dOut[T·K × g]. */
    void dagPairwiseBackward(float[] p, float[] dOut, float[] dp, int T, int K, int g);

    /**
     * Structure inspection: out[i·K+j] = mean over tokens and the g channels of the edge gate
     * sigmoid(a_i + b_j), for router ranks i, j in [0,K) (OVERWRITES out[0..K·K)).
     */
    void dagGateMeans(float[] p, float[] out, int T, int K, int g);

    /**
     * {@link #dagPairwiseForward} and {@link #dagGateMeans} of the same p in one call (training collects the gate
     * statistics every step): a backend may compute both from one evaluation of each gate. Results as the two ops.
     */
    default void dagPairwiseForwardWithGateMeans(float[] p, float[] out, float[] gateMeans, int T, int K, int g) {
        dagPairwiseForward(p, out, T, K, g);
        dagGateMeans(p, gateMeans, T, K, g);
    }

    // ---------------------------------------------------------------- loss

    /**
     * Cross-entropy of logits[T×V] against targets[T]; a negative target is ignored. Writes
     * loss[t] (0 for ignored rows) and lse[t] = logsumexp(logits_t) for the backward.
     */
    void crossEntropyForward(float[] logits, int[] targets, float[] loss, float[] lse, int T, int V);

    /** dLogits[t] = scale · (softmax(logits_t) − onehot(targets[t])) (OVERWRITES; ignored rows get 0). */
    void crossEntropyBackward(float[] logits, int[] targets, float[] lse, float[] dLogits, int T, int V, float scale);

    // ---------------------------------------------------------------- optimizer

    /**
     * AdamW with decoupled weight decay over p, g, m, v [0,n):
     * m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;
     * p −= lr · ( (m/bc1) / (sqrt(v/bc2) + eps) + weightDecay · p ),  bc1 = 1−β1^step, bc2 = 1−β2^step.
     */
    void adamw(float[] p, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2, float eps,
               float weightDecay, float bc1, float bc2);
}
