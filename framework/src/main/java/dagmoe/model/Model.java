package dagmoe.model;

import dagmoe.backend.Backend;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama-style decoder with a Mixture-of-Experts feed-forward (pluggable aggregator) in every
 * moe_every-th block. All arithmetic runs through the {@link Backend}; see framework/MODEL.md.
 * <pre>
 *   h = tok_emb[inputs]                                       [T×d], T = batch·seq
 *   per block: h = h + Attn(RMSNorm_attn(h));  h = F(h, RMSNorm_ffn(h))   (F: MoE aggregator or dense SwiGLU)
 *   logits = RMSNorm_final(h) lm_headᵀ                         [T×V]
 *   loss = mean CE over targets >= 0;  total = loss + Σ balance + Σ z-loss
 * </pre>
 * Activations are kept per model and grown when a call needs more tokens; one model is used by one
 * thread at a time.
 */
public final class Model {
    /** The parameter groups ({@link #component}, {@link #paramCounts}'s byComponent, config train.freeze). */
    public static final List<String> COMPONENTS =
            List.of("embedding", "attention", "router", "experts", "dense", "aggregator", "norms", "head");
    private final ModelConfig cfg;
    private final Backend be;
    private final List<Parameter> params;
    private final Map<String, Parameter> byName;
    private final Map<String, String> component;
    private final int d, V, nL;
    private final float eps;

    final Parameter tokEmb, finalNorm, lmHead; // lmHead == tokEmb when tied
    final Block[] blocks;

    /** One transformer block: pre-norm attention and pre-norm feed-forward, with residuals. */
    static final class Block {
        final Parameter attnNorm, ffnNorm;
        final Attention attn;
        final FeedForward ffn;
        float[] hMid, xa, xf, rstdA, rstdF; // [T×d] ×3, [T] ×2

        Block(Parameter attnNorm, Attention attn, Parameter ffnNorm, FeedForward ffn) {
            this.attnNorm = attnNorm; this.attn = attn; this.ffnNorm = ffnNorm; this.ffn = ffn;
        }
    }

    // activations
    private int capT = -1, capP = -1;
    private float[][] hs;                       // [nL+1][T×d] residual stream entering block l; hs[nL] the last
    private float[] attOut, xFinal, rstdFinal, logits, lossRow, lse, dLogits;
    private float[] dA, dB, dHmid, dXf, dXa, dXFinal;
    private int lastT;
    private int[] lastTargets;
    private boolean deferStats;
    private PendingBackward pending; // set by trainForward until its trainBackward

    public Model(ModelConfig cfg, Backend backend, long seed) {
        this.cfg = cfg;
        this.be = backend;
        d = cfg.dModel();
        V = cfg.vocabSize();
        nL = cfg.nLayers();
        eps = (float) cfg.normEps();
        ParamRegistry reg = new ParamRegistry(seed);
        Scratch scratch = new Scratch();
        // embeddings are not decayed (AdamW's decayAll switch can override)
        tokEmb = reg.add("tok_emb", "embedding", Init.Kind.NORMAL, cfg.initStd(), false, V, d);
        blocks = new Block[nL];
        for (int l = 0; l < nL; l++) {
            String p = "layers." + l;
            Parameter an = reg.norm(p + ".attn_norm", "norms", d);
            Attention at = new Attention(reg, p + ".attn", cfg, scratch);
            Parameter fn = reg.norm(p + ".ffn_norm", "norms", d);
            FeedForward ff;
            if (!cfg.isMoe(l)) ff = new FeedForward.Dense(reg, p + ".ffn", cfg, scratch);
            else ff = switch (cfg.aggregator()) {
                case SUM -> new MoeSum(reg, p + ".moe", cfg, scratch);
                case SHARED -> new MoeShared(reg, p + ".moe", cfg, scratch);
                case DAG -> new MoeDag(reg, p + ".moe", cfg, scratch);
                case MLP_MIX -> new MoeMix(reg, p + ".moe", cfg, scratch);
                case CHAIN -> new MoeChain(reg, p + ".moe", cfg, scratch);
            };
            blocks[l] = new Block(an, at, fn, ff);
        }
        finalNorm = reg.norm("final_norm", "norms", d);
        lmHead = cfg.tieEmbeddings() ? tokEmb : reg.matrix("lm_head", "head", cfg.initStd(), V, d);
        params = Collections.unmodifiableList(new ArrayList<>(reg.list));
        byName = Collections.unmodifiableMap(new LinkedHashMap<>(reg.byName));
        component = reg.component;
    }

    public ModelConfig config() { return cfg; }

    public Backend backend() { return be; }

    /** All parameters in creation order (the order of the initialisation seeds). */
    public List<Parameter> parameters() { return params; }

    /** The parameter with this name; IllegalArgumentException if there is none. */
    public Parameter parameter(String name) {
        Parameter p = byName.get(name);
        if (p == null) throw new IllegalArgumentException("no parameter named " + name);
        return p;
    }

    /** The group of a parameter: one of {@link #COMPONENTS} (a tied embedding is "embedding"). */
    public String component(String name) {
        String c = component.get(name);
        if (c == null) throw new IllegalArgumentException("no parameter named " + name);
        return c;
    }

    /** The parameters of one component ("aggregator", "experts", ...; see {@link #paramCounts}), in order. */
    public List<Parameter> parametersOf(String comp) {
        List<Parameter> out = new ArrayList<>();
        for (Parameter p : params) if (comp.equals(component.get(p.name()))) out.add(p);
        return out;
    }

    public ParamCounts paramCounts() {
        Map<String, Long> by = new LinkedHashMap<>();
        for (String k : COMPONENTS) by.put(k, 0L);
        long total = 0;
        for (Parameter p : params) {
            by.merge(component.get(p.name()), (long) p.size(), Long::sum);
            total += p.size();
        }
        long perExpert = 3L * d * cfg.expertHidden();
        int used = cfg.aggregator() == Aggregator.CHAIN
                ? Math.min(cfg.nExperts(), cfg.chainRounds() * cfg.topK()) : cfg.topK();
        long active = total - (long) cfg.moeLayers() * (cfg.nExperts() - used) * perExpert;
        return new ParamCounts(total, active, by.get("aggregator"), Collections.unmodifiableMap(by));
    }

    /** Zeroes the gradients, runs forward and backward of the total loss; parameter grads hold the result. */
    public StepResult trainStep(int[] inputs, int[] targets, int batch, int seq) {
        return trainStep(inputs, targets, batch, seq, Float.NaN);
    }

    /**
     * {@link #trainStep(int[], int[], int, int)} with each counted target's cross-entropy gradient scaled by
     * {@code lossScale} instead of 1/(this batch's counted targets) (NaN: that default). A data-parallel replica
     * of N passes N / (the global batch's counted targets), so that the mean of the N replicas' gradients is the
     * global batch's LM gradient.
     */
    public StepResult trainStep(int[] inputs, int[] targets, int batch, int seq, float lossScale) {
        StepResult r = trainForward(inputs, targets, batch, seq);
        trainBackward(lossScale);
        return r;
    }

    /**
     * The first half of {@link #trainStep}: zeroes the gradients and runs the forward; {@link #trainBackward} completes
     * the step (the caller keeps {@code inputs} and {@code targets} unchanged until then). In between, a batch split
     * over several replicas exchanges its routing statistics ({@link SharedBalance}).
     */
    public StepResult trainForward(int[] inputs, int[] targets, int batch, int seq) {
        if (targets == null) throw new IllegalArgumentException("trainStep needs targets");
        for (Parameter p : params) be.fill(p.grad(), p.size(), 0f);
        StepResult r = forward(inputs, targets, batch, seq, deferStats);
        pending = new PendingBackward(inputs, targets, batch, seq, r.tokens());
        return r;
    }

    /** The backward of the last {@link #trainForward}, {@code lossScale} as in {@link #trainStep(int[], int[], int, int, float)}. */
    public void trainBackward(float lossScale) {
        PendingBackward p = pending;
        if (p == null) throw new IllegalStateException("trainBackward needs a trainForward first (and no forward since)");
        pending = null;
        float scale = !Float.isNaN(lossScale) ? lossScale : p.tokens() > 0 ? 1f / p.tokens() : 0f;
        backward(p.inputs(), p.targets(), p.batch(), p.seq(), scale);
    }

    private record PendingBackward(int[] inputs, int[] targets, int batch, int seq, int tokens) {}

    /** Forward only. {@code targets} may be null (loss NaN); a target < 0 is not counted. */
    public StepResult forward(int[] inputs, int[] targets, int batch, int seq) {
        return forward(inputs, targets, batch, seq, false);
    }

    /**
     * Whether {@link #trainStep} leaves the loss and the statistics on the backend (default false): it then returns
     * only the counted targets, and {@link #completeStats} reads the rest once the step is recorded (a backend
     * that {@link Backend#defersReads}).
     */
    public void setDeferredStats(boolean on) { deferStats = on; }

    /**
     * The last forward's result read from the backend: losses, expert load, gates ({@code alsoToHost}: other arrays
     * the caller reads now, downloaded in the same transfer). Valid until the next forward or a change of its targets.
     */
    public StepResult completeStats(Object... alsoToHost) {
        if (lastT <= 0) throw new IllegalStateException("no forward has run yet");
        be.toHost(alsoToHost);
        return stats(lastTargets, lastT);
    }

    /**
     * The result {@code r} of the last {@link #trainStep}, with {@code alsoToHost} read now: {@code r} itself, or,
     * when the step left its statistics on the backend ({@link #setDeferredStats}), {@link #completeStats}.
     */
    public StepResult readStep(StepResult r, Object... alsoToHost) {
        if (deferStats) return completeStats(alsoToHost);
        be.toHost(alsoToHost);
        return r;
    }

    private StepResult forward(int[] inputs, int[] targets, int batch, int seq, boolean defer) {
        int T = checkInputs(inputs, targets, batch, seq);
        pending = null; // the activations a pending backward needs are overwritten
        allocate(T, batch * cfg.nHeads() * seq * seq);
        lastT = T;
        be.hostWrote(inputs, targets); // the caller may refill the same arrays every step (device backends upload them)
        be.embeddingForward(tokEmb.data(), inputs, hs[0], T, d);
        for (int l = 0; l < nL; l++) {
            Block b = blocks[l];
            be.rmsnormForward(hs[l], b.attnNorm.data(), b.xa, b.rstdA, T, d, eps);
            b.attn.forward(be, b.xa, attOut, batch, seq);
            be.copy(hs[l], b.hMid, T * d);
            be.axpy(1f, attOut, b.hMid, T * d);
            be.rmsnormForward(b.hMid, b.ffnNorm.data(), b.xf, b.rstdF, T, d, eps);
            b.ffn.forward(be, b.hMid, b.xf, hs[l + 1], T);
        }
        be.rmsnormForward(hs[nL], finalNorm.data(), xFinal, rstdFinal, T, d, eps);
        Ops.linear(be, xFinal, lmHead.data(), logits, T, V, d);
        if (targets != null) be.crossEntropyForward(logits, targets, lossRow, lse, T, V);
        lastTargets = targets;
        if (!defer) return stats(targets, T);
        int counted = 0;
        if (targets != null) for (int t = 0; t < T; t++) if (targets[t] >= 0) counted++;
        return new StepResult(Double.NaN, Double.NaN, Double.NaN, Double.NaN, counted, new int[0][], new float[0][][]);
    }

    private StepResult stats(int[] targets, int T) {
        double loss = Double.NaN;
        int counted = 0;
        if (targets != null) {
            be.toHost(lossRow);
            double sum = 0;
            for (int t = 0; t < T; t++) if (targets[t] >= 0) { sum += lossRow[t]; counted++; }
            loss = counted > 0 ? sum / counted : 0.0;
        }
        double bal = 0, z = 0;
        List<int[]> load = new ArrayList<>();
        List<float[][]> gates = new ArrayList<>();
        for (Block b : blocks) {
            if (!b.ffn.isMoe()) continue;
            b.ffn.statsToHost(be);
            double[] aux = b.ffn.auxLosses();
            bal += aux[0];
            z += aux[1];
            load.add(b.ffn.expertLoad());
            gates.add(b.ffn.gateMeans());
        }
        float[][][] gm = cfg.aggregator() == Aggregator.DAG ? gates.toArray(new float[0][][]) : new float[0][][];
        return new StepResult(loss, bal, z, loss + bal + z, counted, load.toArray(new int[0][]), gm);
    }

    private void backward(int[] inputs, int[] targets, int batch, int seq, float lossScale) {
        int T = batch * seq, n = T * d;
        be.crossEntropyBackward(logits, targets, lse, dLogits, T, V, lossScale);
        be.fill(dXFinal, n, 0f);
        Ops.linearBackward(be, xFinal, lmHead, dLogits, dXFinal, T, V, d);
        be.fill(dA, n, 0f);
        be.rmsnormBackward(hs[nL], finalNorm.data(), rstdFinal, dXFinal, dA, finalNorm.grad(), T, d);
        float[] dOut = dA, dIn = dB;
        for (int l = nL - 1; l >= 0; l--) {
            Block b = blocks[l];
            be.fill(dHmid, n, 0f);
            be.fill(dXf, n, 0f);
            b.ffn.backward(be, b.hMid, b.xf, dOut, dHmid, dXf, T);
            be.rmsnormBackward(b.hMid, b.ffnNorm.data(), b.rstdF, dXf, dHmid, b.ffnNorm.grad(), T, d);
            be.copy(dHmid, dIn, n);                      // residual of the attention sub-block
            be.fill(dXa, n, 0f);
            b.attn.backward(be, b.xa, dHmid, dXa, batch, seq);
            be.rmsnormBackward(hs[l], b.attnNorm.data(), b.rstdA, dXa, dIn, b.attnNorm.grad(), T, d);
            float[] t = dOut; dOut = dIn; dIn = t;
        }
        be.embeddingBackward(dOut, inputs, tokEmb.grad(), T, d, V);
    }

    /**
     * Whether forwards compute the dag's mean edge gates (default true). A trainer that logs them every
     * n steps can switch them off in between: they cost one extra pass over the round projections.
     * When off, {@link StepResult#gateMeans()} holds a zero-length array per MoE block.
     */
    public void setGateStats(boolean on) {
        for (Block b : blocks) if (b.ffn instanceof MoeDag dag) dag.collectGateStats = on;
    }

    /** One forward and backward of an MoE block's aggregator alone (for benchmarks): inputs h, x, dOut; outputs out, dh, dx; all T·d. */
    public interface AggregatorPass {
        void run(float[] h, float[] x, float[] out, float[] dOut, float[] dh, float[] dx, int T);
    }

    /**
     * The aggregator of block {@code layer} alone, combining the K expert outputs the last step routed there
     * ({@code aggregateForward} + {@code aggregateBackward}); null when that block is dense or combines by
     * whole routing rounds (chain).
     */
    public AggregatorPass aggregatorPass(int layer) {
        if (!(blocks[layer].ffn instanceof MoeRouted agg)) return null;
        return (h, x, out, dOut, dh, dx, T) -> {
            agg.aggregateForward(be, h, x, out, T);
            agg.backwardBuffers(T);
            agg.aggregateBackward(be, h, x, dOut, dh, dx, T);
        };
    }

    /** The logits [batch·seq × V] of the last forward (a copy). */
    public float[] logits() {
        if (lastT <= 0) throw new IllegalStateException("no forward has run yet");
        be.toHost(logits);
        return Arrays.copyOf(logits, lastT * V);
    }

    private int checkInputs(int[] inputs, int[] targets, int batch, int seq) {
        if (batch <= 0) throw new IllegalArgumentException("batch = " + batch + ": must be > 0");
        if (seq <= 0 || seq > cfg.seqLen())
            throw new IllegalArgumentException("seq = " + seq + ": must be in [1, model.seq_len = " + cfg.seqLen() + "]");
        long T = (long) batch * seq;
        if (inputs == null || inputs.length < T)
            throw new IllegalArgumentException("inputs: need batch*seq = " + T + " tokens, got " + (inputs == null ? 0 : inputs.length));
        if (targets != null && targets.length < T)
            throw new IllegalArgumentException("targets: need batch*seq = " + T + " entries, got " + targets.length);
        for (int t = 0; t < T; t++) {
            if (inputs[t] < 0 || inputs[t] >= V)
                throw new IllegalArgumentException("inputs[" + t + "] = " + inputs[t] + ": must be in [0, model.vocab_size = " + V + ")");
            if (targets != null && targets[t] >= V)
                throw new IllegalArgumentException("targets[" + t + "] = " + targets[t] + ": must be < model.vocab_size = " + V);
        }
        return (int) T;
    }

    private void allocate(int T, int probsLen) {
        if (T <= capT && probsLen <= capP) return;
        capT = Math.max(T, capT);
        capP = Math.max(probsLen, capP);
        int n = capT * d;
        if (hs == null) hs = new float[nL + 1][];
        for (int l = 0; l <= nL; l++) hs[l] = Ops.grow(hs[l], n);
        for (Block b : blocks) {
            b.hMid = Ops.grow(b.hMid, n); b.xa = Ops.grow(b.xa, n); b.xf = Ops.grow(b.xf, n);
            b.rstdA = Ops.grow(b.rstdA, capT); b.rstdF = Ops.grow(b.rstdF, capT);
            b.attn.allocate(capT, capP);
            b.ffn.allocate(capT);
        }
        attOut = Ops.grow(attOut, n); xFinal = Ops.grow(xFinal, n); rstdFinal = Ops.grow(rstdFinal, capT);
        logits = Ops.grow(logits, capT * V); dLogits = Ops.grow(dLogits, capT * V);
        lossRow = Ops.grow(lossRow, capT); lse = Ops.grow(lse, capT);
        dA = Ops.grow(dA, n); dB = Ops.grow(dB, n); dHmid = Ops.grow(dHmid, n); dXf = Ops.grow(dXf, n);
        dXa = Ops.grow(dXa, n); dXFinal = Ops.grow(dXFinal, n);
    }

    // ---------------------------------------------------------------- test hooks (package-private)

    /** The MoE blocks' feed-forwards, in order ({@link GateProbe}). */
    List<FeedForward> moeFeedForwards() {
        List<FeedForward> out = new ArrayList<>();
        for (Block b : blocks) if (b.ffn.isMoe()) out.add(b.ffn);
        return out;
    }

    /** Every router call of the last forward ({@link SharedBalance}), MoE blocks in order. */
    List<Router.Call> routerCalls() {
        List<Router.Call> all = new ArrayList<>();
        for (Block b : blocks) all.addAll(b.ffn.routerCalls());
        return all;
    }

    /** Tokens of the last forward (batch · seq). */
    int lastTokens() { return lastT; }

    /** Every router's top-K indices of the last forward, MoE blocks in order. */
    int[][] routingSnapshot() {
        List<int[]> all = new ArrayList<>();
        for (Block b : blocks) {
            b.ffn.routingToHost(be);
            all.addAll(Arrays.asList(b.ffn.routing(lastT)));
        }
        return all.toArray(new int[0][]);
    }
}
