package dagmoe.config;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.config.field.Field;
import dagmoe.config.field.Fields;
import dagmoe.config.field.Key;
import dagmoe.config.field.Section;
import dagmoe.io.AtomicWrite;
import dagmoe.model.Aggregator;
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
 * <p>Keys are declared once, on the section records ({@link ModelConfig}, {@link TrainConfig} and the
 * records below): to add a key, add a {@link Field}-annotated component to its section's record, e.g.
 * {@code @Field(key = "encoding", def = "utf-8", choices = {"utf-8", "latin-1"}, help = "...") String encoding}
 * in {@link DataConfig}, and read it where it is used; the schema, --list-keys, parsing, --set and config.json
 * follow. A run's config is loaded (or made for a compare variant by {@link #forVariant}) once and resolved
 * once ({@link #resolve}: the values derived from its data).
 *
 * @param name    the run name (the "name" key, else the config file's base name)
 * @param source  where it came from (the file), used in error messages
 * @param values  every schema key → its typed value (Integer, Long, Double, Boolean, String, JsonNode)
 */
public record RunConfig(String name, String source, Map<String, Object> values, ModelConfig model, TrainConfig train,
                        DataConfig data, BackendConfig backend, CompareConfig compare) {

    /** The top-level keys. */
    @Section("")
    public record About(
            @Field(key = "name", def = "null", nullable = true, help = "run name used in default output folders (default: the config file name)") String name,
            @Field(key = "description", def = "", help = "free text, ignored by the tools") String description) {}

    /** The "data" section. {@code task}: null for a corpus. */
    @Section("data")
    public record DataConfig(
            @Field(key = "path", def = "builtin:europarl", nullable = true, help = "text file, folder, .jsonl, .bin shards, .zip, or builtin:europarl (unused with a task)") String path,
            @Field(key = "format", def = "auto", choices = {"auto", "text", "folder", "jsonl", "bin", "zip"}, help = "dataset format; auto = from the path") String format,
            @Field(key = "tokenizer", def = "byte", choices = {"byte", "gpt2", "bpe"}, help = "byte (V 256), gpt2 (jtokkit r50k), or bpe (byte-level BPE trained on the training split)") String tokenizer,
            @Field(key = "bpe_vocab", def = "1024", min = 256, max = 1 << 17, help = "vocabulary of the trained bpe tokenizer") int bpeVocab,
            @Field(key = "jsonl_field", def = "text", help = "JSONL field holding the text") String jsonlField,
            @Field(key = "val_fraction", def = "0.1", gt = 0, max = 0.5, help = "validation share of the corpus (deterministic split)") double valFraction,
            @Field(key = "max_bytes", def = "0", min = 0, max = 9.007199254740991E15, help = "use at most this many bytes of the corpus; 0 = all") long maxBytes,
            @Field(key = "task", def = "null", nullable = true, choices = {"hops", "compose", "lis"}, help = "synthetic reasoning task instead of a corpus (null = corpus)") String task,
            @Field(key = "task_params", def = "{}", help = "parameters of data.task (see the task's documentation)") JsonNode taskParams,
            @Field(key = "encoding", def = "utf-8", choices = {"utf-8", "latin-1"}, help = "how corpus bytes become text") String encoding,
            @Field(key = "on_invalid_utf8", def = "error", choices = {"error", "replace"}, help = "invalid UTF-8: error (naming the byte offset) or replace with U+FFFD (counted)") String onInvalidUtf8) {}

    /** The "backend" section. */
    @Section("backend")
    public record BackendConfig(
            @Field(key = "name", def = "cpu", choices = {"java", "cpu", "tornado"}, help = "java (reference), cpu (fast, threads), tornado (when built with TornadoVM)") String name,
            @Field(key = "threads", def = "2", min = 1, max = 4096, help = "worker threads of the cpu backend") int threads,
            @Field(key = "device", def = "", help = "tornado device \"B:D\" (empty = default)") String device,
            @Field(key = "devices", def = "", help = "several tornado devices \"B:D,B:D,...\" for one run: a model replica on each, every batch split between them, gradients reduced in device order (empty = backend.device alone)") String devices,
            @Field(key = "device_weights", def = "", help = "share of each batch per backend.devices entry: \"w1,w2,...\" (positive numbers), empty = equal, or auto (measured over the first steps so the devices finish together)") String deviceWeights) {
        public BackendConfig {
            List<String> list = deviceList(devices);
            if (new java.util.HashSet<>(list).size() != list.size()) {
                throw new IllegalArgumentException("backend.devices = " + devices + ": lists a device twice");
            }
            if (list.size() == 1) {
                throw new IllegalArgumentException("backend.devices = " + devices + ": name at least two devices (one device: backend.device)");
            }
            if (!list.isEmpty() && !name.equals("tornado")) {
                throw new IllegalArgumentException("backend.devices = " + devices + ": needs backend.name = tornado (it is " + name + ")");
            }
            String w = deviceWeights.trim();
            if (!w.isEmpty() && !w.equals("auto")) {
                if (list.isEmpty()) throw new IllegalArgumentException("backend.device_weights = " + w + ": needs backend.devices");
                String[] parts = w.split(",", -1);
                if (parts.length != list.size()) {
                    throw new IllegalArgumentException("backend.device_weights = " + w + ": " + parts.length + " weights for "
                            + list.size() + " devices");
                }
                for (String x : parts) {
                    double v;
                    try {
                        v = Double.parseDouble(x.trim());
                    } catch (NumberFormatException e) {
                        v = Double.NaN;
                    }
                    if (!(v > 0) || Double.isInfinite(v)) {
                        throw new IllegalArgumentException("backend.device_weights = " + w + ": " + x.trim() + " is not a positive number");
                    }
                }
            }
        }

        /** The backend.devices entries (empty: one device). */
        public List<String> deviceList() {
            return deviceList(devices);
        }

        private static List<String> deviceList(String devices) {
            List<String> out = new ArrayList<>();
            for (String d : devices.split(",")) if (!d.isBlank()) out.add(d.trim());
            return out;
        }

        /** True for backend.device_weights = auto. */
        public boolean autoWeights() {
            return deviceWeights.trim().equals("auto");
        }

        /** The weights of backend.devices (equal when none or auto are given). */
        public double[] weights() {
            int n = deviceList().size();
            double[] w = new double[n];
            String s = deviceWeights.trim();
            if (s.isEmpty() || s.equals("auto")) java.util.Arrays.fill(w, 1.0);
            else {
                String[] parts = s.split(",");
                for (int i = 0; i < n; i++) w[i] = Double.parseDouble(parts[i].trim());
            }
            return w;
        }
    }

    /** The "finetune" section: the run whose checkpoint initialises the model (dagmoe finetune --from, --checkpoint). */
    @Section("finetune")
    public record FinetuneConfig(
            @Field(key = "from", def = "null", nullable = true, help = "run folder whose checkpoint initialises the model (null = train from scratch)") String from,
            @Field(key = "checkpoint", def = "0", min = 0, max = 1e9, help = "step of finetune.from's checkpoint; 0 = its latest (config.json records the step used)") int checkpoint) {}

    /** One compare variant: a name and its overrides (schema keys → typed values). */
    public record Variant(String name, Map<String, Object> set) {}

    /** The "compare" section; {@code variants} empty for a plain training config (they are read apart). */
    @Section("compare")
    public record CompareConfig(
            @Field(key = "seeds", def = "1", min = 1, max = 1000, help = "seeds per variant (train.seed, train.seed+1, ...)") int seeds,
            @Field(key = "note", def = "", help = "printed under the comparison table and added to comparison.md (what the comparison can and cannot show)") String note,
            List<Variant> variants) {}

    /** The config reader's limits (set explicitly; a config is a few KB). */
    public static final int MAX_DEPTH = 64, MAX_STRING = 1 << 20, MAX_NUMBER = 1000;
    public static final long MAX_DOCUMENT = 4L << 20;
    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_DEPTH).maxStringLength(MAX_STRING)
                    .maxNumberLength(MAX_NUMBER).maxDocumentLength(MAX_DOCUMENT).build())
            .build())
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
            if (Files.isDirectory(file)) throw new ConfigException(where + ": is a folder, not a config file");
            long size = Files.size(file);
            if (size > MAX_DOCUMENT) {
                throw new ConfigException(where + ": " + size + " bytes, more than the config reader's limit of "
                        + MAX_DOCUMENT + " bytes");
            }
            return parse(Files.readAllBytes(file), where);
        } catch (NoSuchFileException e) {
            throw new ConfigException(where + ": config file not found");
        } catch (IOException e) {
            throw new ConfigException(where + ": cannot read (" + AtomicWrite.reason(e) + ")");
        }
    }

    /**
     * Parses config JSON; malformed JSON, invalid UTF-8 and values beyond the reader's limits (nesting depth
     * {@value #MAX_DEPTH}, strings of {@value #MAX_STRING} characters, numbers of {@value #MAX_NUMBER} digits,
     * {@value #MAX_DOCUMENT} bytes) are ConfigExceptions naming the limit and the line and column.
     */
    public static JsonNode parse(byte[] json, String where) {
        try (JsonParser p = JSON.getFactory().createParser(json)) {
            try {
                JsonNode n = JSON.readTree(p);
                return n != null ? n : JSON.missingNode();
            } catch (StreamConstraintsException e) {
                throw new ConfigException(where + ": beyond the config reader's limits" + at(e, p) + ": " + e.getOriginalMessage());
            } catch (JsonProcessingException e) {
                throw new ConfigException(where + ": not valid JSON" + at(e, p) + ": " + e.getOriginalMessage());
            }
        } catch (IOException e) {
            throw new ConfigException(where + ": cannot read (" + e.getMessage() + ")");
        }
    }

    /** Where the parser stopped: line, column and byte offset. */
    private static String at(JsonProcessingException e, JsonParser p) {
        JsonLocation l = e.getLocation() != null ? e.getLocation() : p.currentLocation();
        if (l == null) return "";
        return " (line " + l.getLineNr() + ", column " + l.getColumnNr()
                + (l.getByteOffset() >= 0 ? ", byte " + l.getByteOffset() : "") + ")";
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
        for (Key k : ConfigSchema.keys().values()) v.put(k.path(), k.defaultValue());
        return v;
    }

    private static void readSection(JsonNode node, String prefix, Map<String, Object> values, List<Variant> variants,
                                    String where) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode v = e.getValue();
            Key key = ConfigSchema.key(path);
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
                Key key = ConfigSchema.key(e.getKey());
                if (key == null || e.getKey().startsWith("compare.")) {
                    throw new ConfigException(where + ": " + at + ".set: unknown key " + e.getKey() + " (did you mean "
                            + ConfigSchema.nearest(e.getKey()) + "?)");
                }
                JsonNode val = e.getValue();
                set.put(e.getKey(), val.isTextual() && key.type() != Key.Type.STRING && key.type() != Key.Type.ENUM
                        ? parse(key, val.asText(), where + ": " + at + ".set")
                        : coerce(key, val, where + ": " + at + ".set"));
            }
            variants.add(new Variant(name, Collections.unmodifiableMap(set)));
        }
    }

    /** A JSON value → the key's Java type, range-checked. */
    static Object coerce(Key k, JsonNode v, String where) {
        try {
            return k.fromJson(v);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + k.path() + " = " + v + ": " + e.getMessage());
        }
    }

    /** A --set string → the key's Java type, range-checked. */
    static Object parse(Key k, String s, String where) {
        try {
            return k.parse(s);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + k.path() + " = " + s + ": " + e.getMessage());
        }
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
        Key k = ConfigSchema.key(path);
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

    /**
     * Checks the rules between sections and builds the section records from the values (each record checks
     * its own keys and the rules between them). The records see the derived values: loss_on auto as answer
     * (with a task) or all; vocab_size 0 (from the tokenizer) as 256 and seq_len 0 (the task's own length) as
     * 1 until {@link #resolve} fills them in.
     */
    private static RunConfig build(Map<String, Object> v, List<Variant> variants, String where) {
        String task = (String) v.get("data.task");
        if (v.get("train.loss_on").equals("answer") && task == null) {
            throw new ConfigException(where + ": train.loss_on = answer: needs a data.task (a corpus has no answer tokens)");
        }
        if (task == null && v.get("data.path") == null) {
            throw new ConfigException(where + ": data.path = null: a corpus path is needed when data.task is null");
        }
        if (Integer.valueOf(0).equals(v.get("model.seq_len")) && task == null) {
            throw new ConfigException(where + ": model.seq_len = 0: must be >= 1 (0, the task's own length, needs a data.task)");
        }
        if (task == null && v.get("data.task_params") instanceof JsonNode tp && tp.size() > 0) {
            throw new ConfigException(where + ": data.task_params = " + tp + ": set but data.task is null, so nothing would "
                    + "use them (set data.task, or remove data.task_params)");
        }
        Map<String, Object> r = new LinkedHashMap<>(v);
        if (r.get("train.loss_on").equals("auto")) r.put("train.loss_on", task != null ? "answer" : "all");
        if (Integer.valueOf(0).equals(r.get("model.vocab_size"))) r.put("model.vocab_size", 256);
        if (Integer.valueOf(0).equals(r.get("model.seq_len"))) r.put("model.seq_len", 1);
        try {
            return new RunConfig((String) v.get("name"), where, Collections.unmodifiableMap(new LinkedHashMap<>(v)),
                    Fields.build(ModelConfig.class, r), Fields.build(TrainConfig.class, r), Fields.build(DataConfig.class, r),
                    Fields.build(BackendConfig.class, r), new CompareConfig((Integer) v.get("compare.seeds"), (String) v.get("compare.note"), List.copyOf(variants)));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(where + ": " + e.getMessage());
        }
    }

    /** A copy with some keys replaced (values of the key's type; numbers converted), re-validated; {@code where} prefixes errors. */
    public RunConfig with(Map<String, Object> overrides, String where) {
        Map<String, Object> v = new LinkedHashMap<>(values);
        for (var e : overrides.entrySet()) {
            Key k = ConfigSchema.key(e.getKey());
            if (k == null) throw unknown(where, e.getKey());
            try {
                v.put(e.getKey(), k.normalize(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new ConfigException(where + ": " + e.getKey() + " = " + e.getValue() + ": " + ex.getMessage());
            }
        }
        return build(v, compare.variants(), where);
    }

    public RunConfig with(String key, Object value) {
        return with(Map.of(key, value), source);
    }

    /** The variant's config: this one with the variant's overrides and the given seed (no compare section). */
    public RunConfig forVariant(Variant variant, long seed) {
        return forVariant(variant, seed, null);
    }

    /**
     * The variant's config (one build): this one with the variant's overrides and the given seed, no compare
     * section; a shared variant whose shared.hidden is 0 gets the width matching {@code sharedRef}'s dag
     * settings when given (else {@link #resolve} matches its own).
     */
    public RunConfig forVariant(Variant variant, long seed, ModelConfig sharedRef) {
        Map<String, Object> o = new LinkedHashMap<>(variant.set());
        o.put("train.seed", seed);
        Object agg = o.getOrDefault("model.aggregator", values.get("model.aggregator"));
        Object hidden = o.getOrDefault("model.shared.hidden", values.get("model.shared.hidden"));
        if (sharedRef != null && Aggregator.SHARED.key().equals(agg) && Integer.valueOf(0).equals(hidden)) {
            o.put("model.shared.hidden", ModelConfig.matchedSharedHidden(sharedRef));
        }
        RunConfig c = with(o, source + ": variant " + variant.name());
        return new RunConfig(c.name, c.source, c.values, c.model, c.train, c.data, c.backend, new CompareConfig(1, "", List.of()));
    }

    /**
     * The run's config with its derived values, filled in once before the run writes anything: vocab_size
     * from the data when 0 (a smaller one than the data's is an error), seq_len from the task when 0, loss_on
     * when auto, and a shared width of 0 matched to the dag settings.
     *
     * @param dataVocab  the vocabulary of the run's tokenizer or task
     * @param dataSeqLen the task's own sequence length (used when seq_len is 0)
     * @param dataName   names the data in the error message ("tokenizer byte", "task:hops")
     */
    public RunConfig resolve(int dataVocab, int dataSeqLen, String dataName) {
        Map<String, Object> set = new LinkedHashMap<>();
        int v = (Integer) values.get("model.vocab_size");
        if (v == 0) set.put("model.vocab_size", dataVocab);
        else if (v < dataVocab) {
            throw new ConfigException(source + ": model.vocab_size = " + v + ": smaller than the vocabulary of "
                    + dataName + " (" + dataVocab + "); use 0 to take it from the data");
        }
        if (Integer.valueOf(0).equals(values.get("model.seq_len"))) set.put("model.seq_len", dataSeqLen);
        if ("auto".equals(values.get("train.loss_on"))) set.put("train.loss_on", train.lossOn());
        if (model.aggregator() == Aggregator.SHARED && model.sharedHidden() == 0) {
            set.put("model.shared.hidden", ModelConfig.matchedSharedHidden(model));
        }
        return set.isEmpty() ? this : with(set, source);
    }

    /** Model shorthand: the aggregator key ("sum", "dag", ...). */
    public String aggregator() {
        return (String) values.get("model.aggregator");
    }

    // ---------------------------------------------------------------- JSON out

    /** The resolved config as nested JSON (what config.json holds; reloadable with {@link #fromJson}). */
    public ObjectNode toJson() {
        Map<String, Object> shown = new LinkedHashMap<>(values);
        if (compare.variants().isEmpty()) shown.keySet().removeIf(k -> k.startsWith("compare."));
        ObjectNode root = Fields.nest(shown);
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
