package dagmoe.bench;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.config.ConfigException;
import dagmoe.config.RunConfig;
import dagmoe.model.ModelConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A bench config for {@code dagmoe bench --config FILE}: a training config ("model", "train", "data", "backend",
 * loaded by {@link RunConfig}) plus an optional "bench" section, read here and removed before RunConfig sees
 * the file (so the run-config schema stays the training one). {@code --set bench.<key>=value} overrides it.
 *
 * <pre>
 * "bench": {
 *   "kernels": "model",      // "model" (every kernel case at the model's shapes), "none", or a list of texts:
 *                            //   cases whose "op shape" contains one of them
 *   "square": false,         // also the 1024³ matrix products
 *   "kernel_reps": 10, "kernel_warmup_s": 1.0, "kernel_budget_s": 5.0,   // per kernel case (KernelBench)
 *   "step": true,            // the whole training step (StepBench)
 *   "warmup": 2, "reps": 5,  // untimed and timed training steps
 *   "tokens": "synthetic"    // "synthetic" (PeerBench's splitmix tokens, model.vocab_size) or "data" (the corpus/task)
 * }
 * </pre>
 */
public record BenchConfig(RunConfig run, List<String> kernels, boolean square, int kernelReps, double kernelWarmupSeconds,
                          double kernelBudgetSeconds, boolean step, int warmup, int reps, String tokens) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    static final List<String> KEYS = List.of("kernels", "square", "kernel_reps", "kernel_warmup_s", "kernel_budget_s",
            "step", "warmup", "reps", "tokens");

    /** Kernel cases: null = all of the model's, empty = none. */
    public boolean runsKernels() {
        return kernels == null || !kernels.isEmpty();
    }

    public static BenchConfig load(Path file, List<String> sets) {
        String where = file.toString();
        JsonNode root = RunConfig.readJson(file);
        if (root == null || !root.isObject()) throw new ConfigException(where + ": the config must be a JSON object");
        ObjectNode rest = ((ObjectNode) root).deepCopy();
        JsonNode bench = rest.remove("bench");
        ObjectNode b = bench == null ? JSON.createObjectNode() : asSection(bench, where);
        List<String> runSets = new ArrayList<>();
        for (String s : sets) {
            if (s.startsWith("bench.")) {
                int eq = s.indexOf('=');
                if (eq < 0) throw new ConfigException("--set " + s + ": must be key=value");
                String key = s.substring("bench.".length(), eq), value = s.substring(eq + 1);
                JsonNode v;
                try {
                    v = JSON.readTree(value);
                } catch (JsonProcessingException e) {
                    v = null;
                }
                b.set(key, v != null && !v.isMissingNode() ? v : JSON.getNodeFactory().textNode(value));
            } else {
                runSets.add(s);
            }
        }
        String base = file.getFileName().toString().replaceFirst("\\.json$", "");
        RunConfig run = RunConfig.fromJson(rest, where, base, runSets);
        return fromSection(run, b, where);
    }

    private static ObjectNode asSection(JsonNode n, String where) {
        if (!n.isObject()) throw new ConfigException(where + ": bench must be an object (a section)");
        return (ObjectNode) n;
    }

    static BenchConfig fromSection(RunConfig run, ObjectNode b, String where) {
        for (Iterator<String> it = b.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k)) {
                throw new ConfigException(where + ": unknown key bench." + k + " (known: bench." + String.join(", bench.", KEYS) + ")");
            }
        }
        List<String> kernels;
        JsonNode k = b.path("kernels");
        if (k.isMissingNode() || k.isNull() || (k.isTextual() && k.asText().equals("model"))) {
            kernels = null;
        } else if (k.isTextual() && k.asText().equals("none")) {
            kernels = List.of();
        } else if (k.isArray()) {
            kernels = new ArrayList<>();
            for (JsonNode e : k) {
                if (!e.isTextual() || e.asText().isBlank()) {
                    throw new ConfigException(where + ": bench.kernels = " + k + ": must be \"model\", \"none\" or a list of texts");
                }
                kernels.add(e.asText().toLowerCase(Locale.ROOT));
            }
        } else {
            throw new ConfigException(where + ": bench.kernels = " + k + ": must be \"model\", \"none\" or a list of texts");
        }
        boolean square = bool(b, "square", false, where);
        int kernelReps = integer(b, "kernel_reps", 10, 1, where);
        double kernelWarmup = number(b, "kernel_warmup_s", 1.0, 0, where);
        double kernelBudget = number(b, "kernel_budget_s", 5.0, 1e-3, where);
        boolean step = bool(b, "step", true, where);
        int warmup = integer(b, "warmup", 2, 0, where);
        int reps = integer(b, "reps", 5, 1, where);
        String tokens = b.path("tokens").asText("synthetic");
        if (!tokens.equals("synthetic") && !tokens.equals("data")) {
            throw new ConfigException(where + ": bench.tokens = " + tokens + ": must be synthetic or data");
        }
        if (tokens.equals("synthetic") && step && (Integer) run.values().get("model.vocab_size") < 1) {
            throw new ConfigException(where + ": model.vocab_size = " + run.values().get("model.vocab_size")
                    + ": synthetic tokens (bench.tokens) need a vocabulary size; set it or use bench.tokens = data");
        }
        if (tokens.equals("synthetic") && step && (Integer) run.values().get("model.seq_len") < 1) {
            throw new ConfigException(where + ": model.seq_len = 0: synthetic tokens need a sequence length");
        }
        if (!step && kernels != null && kernels.isEmpty()) {
            throw new ConfigException(where + ": bench.kernels = none and bench.step = false: nothing to run");
        }
        return new BenchConfig(run, kernels, square, kernelReps, kernelWarmup, kernelBudget, step, warmup, reps, tokens);
    }

    private static boolean bool(ObjectNode b, String key, boolean dflt, String where) {
        JsonNode v = b.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw new ConfigException(where + ": bench." + key + " = " + v + ": must be true or false");
        return v.booleanValue();
    }

    private static int integer(ObjectNode b, String key, int dflt, int min, String where) {
        JsonNode v = b.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min) {
            throw new ConfigException(where + ": bench." + key + " = " + v + ": must be an integer >= " + min);
        }
        return v.intValue();
    }

    private static double number(ObjectNode b, String key, double dflt, double min, String where) {
        JsonNode v = b.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber() || v.doubleValue() < min) {
            throw new ConfigException(where + ": bench." + key + " = " + v + ": must be a number >= " + min);
        }
        return v.doubleValue();
    }

    /** The kernel shapes of {@code m} at batch {@code batch} (AdamW over the model's parameter count). */
    public static KernelSuite.ModelShape shape(ModelConfig m, int batch, long params) {
        return new KernelSuite.ModelShape(batch, m.seqLen(), m.dModel(), m.nHeads(), m.expertHidden(), m.topK(),
                m.vocabSize(), m.dagWidth(), params);
    }

    /** The kernel cases this config selects at the model's shapes. */
    public List<KernelSuite.Case> kernelCases(ModelConfig m, long params) {
        List<KernelSuite.Case> all = KernelSuite.cases(shape(m, run.train().batchSize(), params), square);
        if (kernels == null) return all;
        List<KernelSuite.Case> out = new ArrayList<>();
        for (KernelSuite.Case c : all) {
            String name = (c.op() + " " + c.shape()).toLowerCase(Locale.ROOT);
            if (kernels.stream().anyMatch(name::contains)) out.add(c);
        }
        if (out.isEmpty()) throw new ConfigException(run.source() + ": bench.kernels = " + kernels + ": matches no kernel case");
        return out;
    }

    /** For the report header. */
    public Map<String, Object> describe() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("kernels", kernels == null ? "model" : kernels);
        m.put("square", square);
        m.put("kernel_reps", kernelReps);
        m.put("kernel_warmup_s", kernelWarmupSeconds);
        m.put("kernel_budget_s", kernelBudgetSeconds);
        m.put("step", step);
        m.put("warmup", warmup);
        m.put("reps", reps);
        m.put("tokens", tokens);
        return m;
    }
}
