package dagmoe.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.model.Aggregator;
import dagmoe.model.DagResidual;
import dagmoe.model.ModelConfig;
import dagmoe.train.TrainConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated run config: sections "model", "train", "data", "backend" and, for {@code compare}, "compare".
 * Built from JSON plus {@code --set key=value} overrides; every key of {@link ConfigSchema} has a value
 * (the default when absent). Immutable: {@link #with} returns a new, re-validated config.
 *
 * @param name    the run name (the "name" key, else the config file's base name)
 * @param source  where it came from (the file), used in error messages
 * @param values  every schema key → its typed value (Integer, Long, Double, Boolean, String, JsonNode)
 */
public record RunConfig(String name, String source, Map<String, Object> values, ModelConfig model, TrainConfig train,
                        DataConfig data, BackendConfig backend, CompareConfig compare) {

    /** The "data" section. {@code task}: null for a corpus. */
    public record DataConfig(String path, String format, String tokenizer, int bpeVocab, String jsonlField,
                             double valFraction, long maxBytes, String task, JsonNode taskParams) {}

    /** The "backend" section. */
    public record BackendConfig(String name, int threads, String device) {}

    /** One compare variant: a name and its overrides (schema keys → typed values). */
    public record Variant(String name, Map<String, Object> set) {}

    /** The "compare" section; {@code variants} empty for a plain training config. */
    public record CompareConfig(int seeds, List<Variant> variants) {}

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    // ---------------------------------------------------------------- loading

    /** Reads a config file and applies {@code sets} ("a.b=c") in order. */
    public static RunConfig load(Path file, List<String> sets) {
        JsonNode root = readJson(file);
        String base = file.getFileName().toString().replaceFirst("\\.json$", "");
        return fromJson(root, file.toString(), base, sets);
    }

    /** Parses a config file; a missing, unreadable or malformed file is a ConfigException naming it. */
    public static JsonNode readJson(Path file) {
        String where = file.toString();
        try {
            return JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new ConfigException(where + ": config file not found");
        } catch (JsonProcessingException e) {
            throw new ConfigException(where + ": not valid JSON (line " + e.getLocation().getLineNr() + ": "
                    + e.getOriginalMessage() + ")");
        } catch (IOException e) {
            throw new ConfigException(where + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Builds from a parsed JSON tree (a config file or a run's saved config.json). */
    public static RunConfig fromJson(JsonNode root, String where, String defaultName, List<String> sets) {
        if (root == null || !root.isObject()) throw new ConfigException(where + ": the config must be a JSON object");
        Map<String, Object> values = defaults();
        List<Variant> variants = new ArrayList<>();
        readSection(root, "", values, variants, where);
        for (String s : sets) applySet(values, s);
        if (values.get("name") == null) values.put("name", defaultName);
        return build(values, variants, where);
    }

    private static Map<String, Object> defaults() {
        Map<String, Object> v = new LinkedHashMap<>();
        for (ConfigSchema.Key k : ConfigSchema.keys().values()) {
            Object d = k.defaultValue();
            v.put(k.path(), d instanceof JsonNode j ? j.deepCopy() : d);
        }
        return v;
    }

    private static void readSection(JsonNode node, String prefix, Map<String, Object> values, List<Variant> variants,
                                    String where) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode v = e.getValue();
            ConfigSchema.Key key = ConfigSchema.key(path);
            if (path.equals("compare.variants")) {
                readVariants(v, variants, where);
            } else if (key != null) {
                values.put(path, coerce(key, v, where));
            } else if (ConfigSchema.isSection(path)) {
                if (!v.isObject()) throw new ConfigException(where + ": " + path + " must be an object (a section)");
                readSection(v, path, values, variants, where);
            } else {
                // An unknown section: report its first leaf key so the suggestion is a full key ("trian.steps" -> "train.steps").
                while (v.isObject() && v.size() > 0) {
                    String first = v.fieldNames().next();
                    path = path + "." + first;
                    v = v.get(first);
                }
                throw unknown(where, path);
            }
        }
    }

    private static ConfigException unknown(String where, String path) {
        return new ConfigException(where + ": unknown key " + path + " (did you mean " + ConfigSchema.nearest(path) + "?)");
    }

    private static void readVariants(JsonNode arr, List<Variant> variants, String where) {
        if (!arr.isArray()) throw new ConfigException(where + ": compare.variants must be a list of {\"name\", \"set\"}");
        Set<String> names = new HashSet<>();
        for (int i = 0; i < arr.size(); i++) {
            JsonNode v = arr.get(i);
            String at = "compare.variants[" + i + "]";
            if (!v.isObject()) throw new ConfigException(where + ": " + at + " must be an object {\"name\", \"set\"}");
            for (Iterator<String> f = v.fieldNames(); f.hasNext(); ) {
                String fn = f.next();
                if (!fn.equals("name") && !fn.equals("set")) {
                    throw new ConfigException(where + ": unknown key " + at + "." + fn + " (did you mean "
                            + (ConfigSchema.levenshtein(fn, "name") <= ConfigSchema.levenshtein(fn, "set") ? "name" : "set") + "?)");
                }
            }
            String name = v.path("name").asText("");
            if (!name.matches("[A-Za-z0-9][A-Za-z0-9._-]*")) {
                throw new ConfigException(where + ": " + at + ".name = \"" + name
                        + "\": must be a non-empty name of letters, digits, '.', '_' or '-' (it names a folder)");
            }
            if (!names.add(name)) throw new ConfigException(where + ": " + at + ".name = " + name + ": used twice");
            Map<String, Object> set = new LinkedHashMap<>();
            JsonNode s = v.path("set");
            if (!s.isMissingNode() && !s.isObject()) throw new ConfigException(where + ": " + at + ".set must be an object");
            for (Iterator<Map.Entry<String, JsonNode>> it = s.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                ConfigSchema.Key key = ConfigSchema.key(e.getKey());
                if (key == null || e.getKey().startsWith("compare.")) {
                    throw new ConfigException(where + ": " + at + ".set: unknown key " + e.getKey() + " (did you mean "
                            + ConfigSchema.nearest(e.getKey()) + "?)");
                }
                JsonNode val = e.getValue();
                set.put(e.getKey(), val.isTextual() && key.type() != ConfigSchema.Type.STRING && key.type() != ConfigSchema.Type.ENUM
                        ? parse(key, val.asText(), where + ": " + at + ".set")
                        : coerce(key, val, where + ": " + at + ".set"));
            }
            variants.add(new Variant(name, Collections.unmodifiableMap(set)));
        }
    }

    /** A JSON value → the key's Java type, range-checked. */
    static Object coerce(ConfigSchema.Key k, JsonNode v, String where) {
        String p = k.path();
        Object out;
        if (v.isNull()) {
            out = null;
        } else {
            out = switch (k.type()) {
                case INT -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt()) throw typeError(where, p, v, "must be an integer");
                    yield v.intValue();
                }
                case LONG -> {
                    if (!v.isIntegralNumber() || !v.canConvertToLong()) throw typeError(where, p, v, "must be an integer");
                    yield v.longValue();
                }
                case DOUBLE -> {
                    if (!v.isNumber()) throw typeError(where, p, v, "must be a number");
                    yield v.doubleValue();
                }
                case BOOL -> {
                    if (!v.isBoolean()) throw typeError(where, p, v, "must be true or false");
                    yield v.booleanValue();
                }
                case STRING, ENUM -> {
                    if (!v.isTextual()) throw typeError(where, p, v, k.type() == ConfigSchema.Type.ENUM
                            ? "must be one of " + String.join(", ", k.choices()) : "must be a string");
                    yield v.textValue();
                }
                case OBJECT -> {
                    if (!v.isObject()) throw typeError(where, p, v, "must be an object");
                    yield v.deepCopy();
                }
            };
        }
        String rule = k.violation(out);
        if (rule != null) throw typeError(where, p, v, rule);
        return out;
    }

    /** A --set string → the key's Java type, range-checked. */
    static Object parse(ConfigSchema.Key k, String s, String where) {
        String p = k.path();
        Object out;
        try {
            if (s.equals("null") && k.nullable()) {
                out = null;
            } else {
                out = switch (k.type()) {
                    case INT -> Integer.parseInt(s.trim());
                    case LONG -> Long.parseLong(s.trim());
                    case DOUBLE -> Double.parseDouble(s.trim());
                    case BOOL -> {
                        if (!s.equals("true") && !s.equals("false")) throw new NumberFormatException();
                        yield Boolean.parseBoolean(s);
                    }
                    case STRING, ENUM -> s;
                    case OBJECT -> {
                        JsonNode n = JSON.readTree(s);
                        if (n == null || !n.isObject()) throw new NumberFormatException();
                        yield n;
                    }
                };
            }
        } catch (NumberFormatException | JsonProcessingException e) {
            String want = switch (k.type()) {
                case INT, LONG -> "an integer";
                case DOUBLE -> "a number";
                case BOOL -> "true or false";
                case OBJECT -> "a JSON object";
                default -> "a string";
            };
            throw new ConfigException(where + ": " + p + " = " + s + ": must be " + want);
        }
        String rule = k.violation(out);
        if (rule != null) throw new ConfigException(where + ": " + p + " = " + s + ": " + rule);
        return out;
    }

    private static ConfigException typeError(String where, String path, JsonNode v, String rule) {
        return new ConfigException(where + ": " + path + " = " + v + ": " + rule);
    }

    /** Applies one "--set a.b=c". {@code data.task_params.x=v} sets one task parameter. */
    static void applySet(Map<String, Object> values, String set) {
        String where = "--set " + set;
        int eq = set.indexOf('=');
        if (eq <= 0) throw new ConfigException(where + ": expected key=value, e.g. --set train.steps=200");
        String path = set.substring(0, eq).trim();
        String raw = set.substring(eq + 1);
        if (path.startsWith("data.task_params.") && path.length() > "data.task_params.".length()) {
            ObjectNode params = ((JsonNode) values.get("data.task_params")).deepCopy();
            String field = path.substring("data.task_params.".length());
            JsonNode parsed;
            try {
                parsed = JSON.readTree(raw);
            } catch (JsonProcessingException e) {
                parsed = null;
            }
            params.set(field, parsed != null && !parsed.isMissingNode() ? parsed : JsonNodeFactory.instance.textNode(raw));
            values.put("data.task_params", params);
            return;
        }
        ConfigSchema.Key k = ConfigSchema.key(path);
        if (k == null || path.startsWith("compare.")) {
            if (path.equals("compare.seeds")) {
                values.put(path, parse(ConfigSchema.key(path), raw, where));
                return;
            }
            throw new ConfigException(where + ": unknown key " + path + " (did you mean " + ConfigSchema.nearest(path) + "?)");
        }
        values.put(path, parse(k, raw, where));
    }

    // ---------------------------------------------------------------- building

    private static RunConfig build(Map<String, Object> v, List<Variant> variants, String where) {
        // Cross-field rules of the train section (the model's own are checked by ModelConfig).
        double lr = (Double) v.get("train.lr"), minLr = (Double) v.get("train.min_lr");
        if (minLr > lr) throw new ConfigException(where + ": train.min_lr = " + minLr + ": must be <= train.lr (" + lr + ")");
        int steps = (Integer) v.get("train.steps");
        int warm = Math.min((Integer) v.get("train.warmup_steps"), steps); // documented: capped at train.steps
        String lossOn = (String) v.get("train.loss_on");
        if (lossOn.equals("answer") && v.get("data.task") == null) {
            throw new ConfigException(where + ": train.loss_on = answer: needs a data.task (a corpus has no answer tokens)");
        }
        if (v.get("data.task") == null && v.get("data.path") == null) {
            throw new ConfigException(where + ": data.path = null: a corpus path is needed when data.task is null");
        }
        if (Integer.valueOf(0).equals(v.get("model.seq_len")) && v.get("data.task") == null) {
            throw new ConfigException(where + ": model.seq_len = 0: must be >= 1 (0, the task's own length, needs a data.task)");
        }
        ModelConfig model;
        try {
            model = modelOf(v);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + e.getMessage());
        }
        TrainConfig train = new TrainConfig(steps, (Integer) v.get("train.batch_size"), lr, minLr, warm,
                (Double) v.get("train.weight_decay"), (Double) v.get("train.beta1"), (Double) v.get("train.beta2"),
                (Double) v.get("train.eps"), (Double) v.get("train.grad_clip"), (Long) v.get("train.seed"),
                (Integer) v.get("train.eval_every"), (Integer) v.get("train.eval_batches"),
                (Integer) v.get("train.checkpoint_every"), (Integer) v.get("train.keep_checkpoints"),
                (Integer) v.get("train.log_every"),
                lossOn.equals("auto") ? (v.get("data.task") != null ? "answer" : "all") : lossOn,
                (Boolean) v.get("train.decay_all"));
        DataConfig data = new DataConfig((String) v.get("data.path"), (String) v.get("data.format"),
                (String) v.get("data.tokenizer"), (Integer) v.get("data.bpe_vocab"), (String) v.get("data.jsonl_field"),
                (Double) v.get("data.val_fraction"), (Long) v.get("data.max_bytes"), (String) v.get("data.task"),
                (JsonNode) v.get("data.task_params"));
        BackendConfig backend = new BackendConfig((String) v.get("backend.name"), (Integer) v.get("backend.threads"),
                (String) v.get("backend.device"));
        CompareConfig compare = new CompareConfig((Integer) v.get("compare.seeds"), List.copyOf(variants));
        return new RunConfig((String) v.get("name"), where, Collections.unmodifiableMap(new LinkedHashMap<>(v)),
                model, train, data, backend, compare);
    }

    /**
     * The model record; vocab_size 0 (taken from the tokenizer later) is validated as 256, and seq_len 0 (a
     * task's own length) as 1, until the run resolves them.
     */
    private static ModelConfig modelOf(Map<String, Object> v) {
        int vocab = (Integer) v.get("model.vocab_size");
        int seq = (Integer) v.get("model.seq_len");
        return new ModelConfig(vocab == 0 ? 256 : vocab, i(v, "model.d_model"), i(v, "model.n_layers"),
                i(v, "model.n_heads"), seq == 0 ? 1 : seq, i(v, "model.n_experts"), i(v, "model.top_k"),
                i(v, "model.expert_hidden"), i(v, "model.moe_every"), (Boolean) v.get("model.tie_embeddings"),
                (Double) v.get("model.rope_theta"), (Double) v.get("model.norm_eps"), (Double) v.get("model.init_std"),
                Aggregator.parse((String) v.get("model.aggregator")), (Boolean) v.get("model.router.normalize_topk"),
                (Double) v.get("model.router.balance_coef"), (Double) v.get("model.router.z_loss_coef"),
                i(v, "model.dag.rounds"), i(v, "model.dag.width"), DagResidual.parse((String) v.get("model.dag.residual")),
                (Boolean) v.get("model.dag.inject"), i(v, "model.shared.hidden"), i(v, "model.mlp_mix.width"),
                i(v, "model.chain.rounds"));
    }

    private static int i(Map<String, Object> v, String k) {
        return (Integer) v.get(k);
    }

    /** A copy with some keys replaced (typed values), re-validated; {@code where} prefixes errors. */
    public RunConfig with(Map<String, Object> overrides, String where) {
        Map<String, Object> v = new LinkedHashMap<>(values);
        for (var e : overrides.entrySet()) {
            ConfigSchema.Key k = ConfigSchema.key(e.getKey());
            if (k == null) throw new ConfigException(where + ": unknown key " + e.getKey() + " (did you mean " + ConfigSchema.nearest(e.getKey()) + "?)");
            Object val = e.getValue();
            if (val instanceof Number n && k.type() == ConfigSchema.Type.DOUBLE) val = n.doubleValue();
            if (val instanceof Number n && k.type() == ConfigSchema.Type.LONG) val = n.longValue();
            if (val instanceof Number n && k.type() == ConfigSchema.Type.INT) val = n.intValue();
            String rule = k.violation(val);
            if (rule != null) throw new ConfigException(where + ": " + e.getKey() + " = " + val + ": " + rule);
            v.put(e.getKey(), val);
        }
        return build(v, compare.variants(), where);
    }

    public RunConfig with(String key, Object value) {
        return with(Map.of(key, value), source);
    }

    /** The variant's config: this one with the variant's overrides and the given seed (no compare section). */
    public RunConfig forVariant(Variant variant, long seed) {
        Map<String, Object> o = new LinkedHashMap<>(variant.set());
        o.put("train.seed", seed);
        RunConfig c = with(o, source + ": variant " + variant.name());
        return new RunConfig(c.name, c.source, c.values, c.model, c.train, c.data, c.backend, new CompareConfig(1, List.of()));
    }

    /** Model shorthand: the aggregator key ("sum", "dag", ...). */
    public String aggregator() {
        return (String) values.get("model.aggregator");
    }

    // ---------------------------------------------------------------- JSON out

    /** The resolved config as nested JSON (what config.json holds; reloadable with {@link #fromJson}). */
    public ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        for (var e : values.entrySet()) {
            if (e.getKey().startsWith("compare.") && compare.variants().isEmpty()) continue;
            String[] parts = e.getKey().split("\\.");
            ObjectNode at = root;
            for (int i = 0; i < parts.length - 1; i++) {
                at = at.has(parts[i]) ? (ObjectNode) at.get(parts[i]) : at.putObject(parts[i]);
            }
            at.set(parts[parts.length - 1], JSON.valueToTree(e.getValue()));
        }
        if (!compare.variants().isEmpty()) {
            ArrayNode arr = ((ObjectNode) root.get("compare")).putArray("variants");
            for (Variant var : compare.variants()) {
                ObjectNode o = arr.addObject().put("name", var.name());
                ObjectNode s = o.putObject("set");
                var.set().forEach((k, val) -> s.set(k, JSON.valueToTree(val)));
            }
        }
        return root;
    }

    public String toPrettyJson() {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(toJson());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
