package dagmoe.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every key a run config may hold, with its type, default, allowed range and meaning. This table is the
 * single source of truth: the loader rejects keys that are not here, fills in the defaults, range-checks
 * every value, and {@code dagmoe train --help} style documentation can be printed from it
 * ({@link #describe()}).
 */
public final class ConfigSchema {

    public enum Type { INT, LONG, DOUBLE, BOOL, STRING, ENUM, OBJECT }

    /**
     * One key. {@code min}/{@code max}: inclusive bounds for numbers (NaN = none); {@code minExclusive}:
     * the lower bound is exclusive; {@code choices}: the values of an ENUM; {@code nullable}: JSON null allowed.
     */
    public record Key(String path, Type type, Object defaultValue, double min, boolean minExclusive, double max,
                      List<String> choices, boolean nullable, String doc) {

        /** Checks a typed value against the range; returns null when fine, else the rule it breaks. */
        public String violation(Object v) {
            if (v == null) return nullable ? null : "must not be null";
            switch (type) {
                case INT, LONG, DOUBLE -> {
                    double x = ((Number) v).doubleValue();
                    if (Double.isNaN(x) || Double.isInfinite(x)) return "must be a finite number";
                    if (!Double.isNaN(min) && (minExclusive ? x <= min : x < min))
                        return "must be " + (minExclusive ? "> " : ">= ") + fmt(min);
                    if (!Double.isNaN(max) && x > max) return "must be <= " + fmt(max);
                }
                case ENUM -> {
                    if (!choices.contains(v)) return "must be one of " + String.join(", ", choices);
                }
                default -> { }
            }
            return null;
        }

        public String rangeText() {
            StringBuilder sb = new StringBuilder();
            if (type == Type.ENUM) return String.join(" | ", choices);
            if (!Double.isNaN(min)) sb.append(minExclusive ? "> " : ">= ").append(fmt(min));
            if (!Double.isNaN(max)) sb.append(sb.length() > 0 ? ", " : "").append("<= ").append(fmt(max));
            return sb.toString();
        }
    }

    private static String fmt(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e15 ? Long.toString((long) x) : Double.toString(x);
    }

    private static final Map<String, Key> KEYS = new LinkedHashMap<>();
    private static final double NONE = Double.NaN;

    private static void num(String path, Type t, Object def, double min, boolean minEx, double max, String doc) {
        KEYS.put(path, new Key(path, t, def, min, minEx, max, List.of(), false, doc));
    }

    private static void choice(String path, String def, boolean nullable, String doc, String... choices) {
        KEYS.put(path, new Key(path, Type.ENUM, def, NONE, false, NONE, List.of(choices), nullable, doc));
    }

    private static void other(String path, Type t, Object def, boolean nullable, String doc) {
        KEYS.put(path, new Key(path, t, def, NONE, false, NONE, List.of(), nullable, doc));
    }

    static {
        // ---- top level
        other("name", Type.STRING, null, true, "run name used in default output folders (default: the config file name)");
        other("description", Type.STRING, "", false, "free text, ignored by the tools");
        // ---- model (framework dagmoe.model.ModelConfig; further cross-field rules are checked there)
        num("model.vocab_size", Type.INT, 0, 0, false, 1 << 20, "vocabulary size V; 0 = taken from the tokenizer");
        num("model.d_model", Type.INT, 256, 1, false, 1 << 16, "model width d");
        num("model.n_layers", Type.INT, 4, 1, false, 1024, "transformer blocks");
        num("model.n_heads", Type.INT, 4, 1, false, 1024, "attention heads (must divide d_model; head dim even)");
        num("model.seq_len", Type.INT, 128, 0, false, 1 << 16, "tokens per training sequence; 0 = the task's own length (data.task only)");
        num("model.n_experts", Type.INT, 8, 1, false, 4096, "experts N per MoE block");
        num("model.top_k", Type.INT, 2, 1, false, 4096, "experts K per token (<= n_experts)");
        num("model.expert_hidden", Type.INT, 512, 1, false, 1 << 20, "expert SwiGLU hidden width d_e");
        num("model.moe_every", Type.INT, 1, 1, false, 1024, "every n-th block is MoE, the others dense SwiGLU");
        other("model.tie_embeddings", Type.BOOL, false, false, "share tok_emb with the LM head");
        num("model.rope_theta", Type.DOUBLE, 10000.0, 0, true, NONE, "rotary base theta");
        num("model.norm_eps", Type.DOUBLE, 1e-5, 0, true, 1, "RMSNorm epsilon");
        num("model.init_std", Type.DOUBLE, 0.02, 0, true, 10, "std of the normal weight init");
        choice("model.aggregator", "dag", false, "how the K expert outputs are combined", "sum", "shared", "dag", "mlp-mix", "chain");
        other("model.router.normalize_topk", Type.BOOL, true, false, "renormalise the K gates to sum 1");
        num("model.router.balance_coef", Type.DOUBLE, 0.01, 0, false, 100, "load-balance loss alpha");
        num("model.router.z_loss_coef", Type.DOUBLE, 0.001, 0, false, 100, "router z-loss beta");
        num("model.dag.rounds", Type.INT, 2, 0, false, 64, "DAG rounds L");
        num("model.dag.width", Type.INT, 64, 1, false, 1 << 16, "structure width d_g");
        choice("model.dag.residual", "injected", false, "injected: h/K inside the nodes is the residual; outer: x/K plus the block's own residual", "injected", "outer");
        other("model.dag.inject", Type.BOOL, true, false, "add h/K (x/K) to the initial nodes (false only as an ablation)");
        num("model.shared.hidden", Type.INT, 0, 0, false, 1 << 20, "shared expert width d_r; 0 = parameter-matched to the dag settings");
        num("model.mlp_mix.width", Type.INT, 64, 1, false, 1 << 16, "mlp-mix hidden width");
        num("model.chain.rounds", Type.INT, 2, 1, false, 64, "chain-of-experts rounds R");
        // ---- train (framework dagmoe.train.TrainConfig)
        num("train.steps", Type.INT, 1000, 1, false, 1e9, "optimizer steps");
        num("train.batch_size", Type.INT, 16, 1, false, 1 << 16, "sequences per step");
        num("train.lr", Type.DOUBLE, 3e-4, 0, true, 10, "peak learning rate (after warm-up)");
        num("train.min_lr", Type.DOUBLE, 3e-5, 0, false, 10, "final learning rate of the cosine decay (<= lr)");
        num("train.warmup_steps", Type.INT, 100, 0, false, 1e9, "linear warm-up steps (capped at train.steps)");
        num("train.weight_decay", Type.DOUBLE, 0.1, 0, false, 10, "AdamW decoupled weight decay");
        num("train.beta1", Type.DOUBLE, 0.9, 0, false, 0.999999, "AdamW beta1");
        num("train.beta2", Type.DOUBLE, 0.95, 0, false, 0.999999999, "AdamW beta2");
        num("train.eps", Type.DOUBLE, 1e-8, 0, true, 1, "AdamW epsilon");
        num("train.grad_clip", Type.DOUBLE, 1.0, 0, false, 1e6, "global gradient-norm clip; 0 = off");
        num("train.seed", Type.LONG, 1L, 0, false, 9.007199254740991E15, "run seed (weights, data order, sampling)");
        num("train.eval_every", Type.INT, 100, 0, false, 1e9, "evaluate every n steps; 0 = only at the end");
        num("train.eval_batches", Type.INT, 20, 1, false, 1e6, "validation batches per evaluation");
        num("train.checkpoint_every", Type.INT, 500, 0, false, 1e9, "checkpoint every n steps; 0 = only at the end");
        num("train.keep_checkpoints", Type.INT, 2, 0, false, 1e6, "complete checkpoints kept; 0 = all");
        num("train.log_every", Type.INT, 10, 1, false, 1e9, "metrics line every n steps");
        choice("train.loss_on", "auto", false, "targets the LM loss counts: all tokens, only a task's answer tokens, or auto (answer with a task, else all)", "auto", "all", "answer");
        other("train.decay_all", Type.BOOL, false, false, "weight decay on every tensor (false: not on norms, embeddings, biases)");
        // ---- data
        other("data.path", Type.STRING, "builtin:europarl", true, "text file, folder, .jsonl, .bin shards, .zip, or builtin:europarl (unused with a task)");
        choice("data.format", "auto", false, "dataset format; auto = from the path", "auto", "text", "folder", "jsonl", "bin", "zip");
        choice("data.tokenizer", "byte", false, "byte (V 256), gpt2 (jtokkit r50k), or bpe (byte-level BPE trained on the training split)", "byte", "gpt2", "bpe");
        num("data.bpe_vocab", Type.INT, 1024, 256, false, 1 << 17, "vocabulary of the trained bpe tokenizer");
        other("data.jsonl_field", Type.STRING, "text", false, "JSONL field holding the text");
        num("data.val_fraction", Type.DOUBLE, 0.1, 0, true, 0.5, "validation share of the corpus (deterministic split)");
        num("data.max_bytes", Type.LONG, 0L, 0, false, 9.007199254740991E15, "use at most this many bytes of the corpus; 0 = all");
        choice("data.task", null, true, "synthetic reasoning task instead of a corpus (null = corpus)", "hops", "compose", "lis");
        other("data.task_params", Type.OBJECT, JsonNodeFactory.instance.objectNode(), false, "parameters of data.task (see the task's documentation)");
        // ---- backend
        choice("backend.name", "cpu", false, "java (reference), cpu (fast, threads), tornado (when built with TornadoVM)", "java", "cpu", "tornado");
        num("backend.threads", Type.INT, 2, 1, false, 4096, "worker threads of the cpu backend");
        other("backend.device", Type.STRING, "", false, "tornado device \"B:D\" (empty = default)");
        // ---- compare (variants are validated separately)
        num("compare.seeds", Type.INT, 1, 1, false, 1000, "seeds per variant (train.seed, train.seed+1, ...)");
    }

    private ConfigSchema() {}

    public static Map<String, Key> keys() {
        return Collections.unmodifiableMap(KEYS);
    }

    public static Key key(String path) {
        return KEYS.get(path);
    }

    /** True when {@code path} is a section that holds keys (e.g. "model", "model.dag"). */
    public static boolean isSection(String path) {
        String prefix = path + ".";
        for (String k : KEYS.keySet()) if (k.startsWith(prefix)) return true;
        return path.equals("compare");
    }

    /** The valid key nearest to {@code wrong} by edit distance (ties: the first in schema order). */
    public static String nearest(String wrong) {
        List<String> candidates = new ArrayList<>(KEYS.keySet());
        candidates.add("compare.variants");
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String k : candidates) {
            int d = levenshtein(wrong, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    /** A Markdown table of every key: the documentation of the config format. */
    public static String describe() {
        StringBuilder sb = new StringBuilder("| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
        for (Key k : KEYS.values()) {
            Object d = k.defaultValue();
            sb.append("| `").append(k.path()).append("` | ").append(k.type().name().toLowerCase()).append(" | ")
                    .append(d instanceof JsonNode ? d.toString() : String.valueOf(d)).append(" | ")
                    .append(k.rangeText()).append(" | ").append(k.doc()).append(" |\n");
        }
        sb.append("| `compare.variants` | list | [] | | [{\"name\": ..., \"set\": {\"dotted.key\": value, ...}}] |\n");
        return sb.toString();
    }
}
