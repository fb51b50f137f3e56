package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.config.ConfigException;
import dagmoe.config.RunConfig;
import dagmoe.eval.TaskFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A study file: a base compare config (its variants), token budgets and model sizes ("scales") and the order in
 * which (scale, variants, seeds) are trained ("plan"), plus the evaluation: out-of-domain corpora, validation
 * batches, and how many checkpoints over training the gate analysis reads.
 * <pre>
 * {"name": "study", "base": "base.json",                      (relative to the study file)
 *  "ood": ["../shared/data/kjv.txt", ...], "eval_batches": 32, "probe_batches": 8, "probes": 4,
 *  "tasks": ["experiments/results/study/tasks/europarl/choice-test.jsonl", ...],  (downstream task files, 'dagmoe tasks make')
 *  "scales": {"q-1M": {"tokens": 1048576, "size": "quickstart", "set": {"model.d_model": 128}}, ...},
 *  "plan": [{"scale": "q-1M", "variants": ["sum", "dag"], "seeds": 3}, ...]}
 * </pre>
 * A scale's training steps are tokens / (batch_size · seq_len); warm-up is 10% of them, evaluation and
 * checkpoints every steps / probes, and every checkpoint is kept (the gate analysis reads them). Plan entries run
 * in order, seed by seed (all variants of seed 1, then of seed 2, ...); finished runs are skipped.
 */
record StudyPlan(String name, Path file, Path base, List<String> ood, List<Path> tasks, int evalBatches, int probeBatches, int probes,
                 Map<String, Scale> scales, List<Cell> cells) {

    record Scale(String name, long tokens, String size, Map<String, Object> set, RunConfig config, Path dir) {}

    /** One run of the study: a compare plan entry of a scale. */
    record Cell(Scale scale, CompareCommand.PlannedRun run) {}

    static StudyPlan load(Path file, Path runsRoot, List<String> sets) {
        JsonNode root = RunConfig.readJson(file);
        String where = file.toString();
        if (!root.isObject()) throw new CliSupport.BadInput(where + ": a study file must be a JSON object");
        Set<String> known = Set.of("name", "description", "base", "ood", "tasks", "eval_batches", "probe_batches", "probes", "scales", "plan");
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!known.contains(k)) throw new CliSupport.BadInput(where + ": unknown field " + k + " (fields: " + known + ")");
        }
        String name = root.path("name").asText(file.getFileName().toString().replaceFirst("\\.json$", ""));
        if (!root.path("base").isTextual()) throw new CliSupport.BadInput(where + ": base: the compare config (a path) is missing");
        Path dirOf = file.toAbsolutePath().getParent();
        Path base = dirOf.resolve(root.get("base").asText()).normalize();
        if (!Files.isRegularFile(base)) throw new CliSupport.BadInput(where + ": base: " + base + ": no such file");
        List<String> ood = new ArrayList<>();
        for (JsonNode o : root.path("ood")) {
            if (!o.isTextual()) throw new CliSupport.BadInput(where + ": ood: entries must be paths (strings)");
            if (!Files.exists(Path.of(o.asText()))) throw new CliSupport.BadInput(where + ": ood: " + o.asText() + ": no such file");
            ood.add(o.asText());
        }
        List<Path> tasks = new ArrayList<>();
        for (JsonNode t : root.path("tasks")) {
            if (!t.isTextual()) throw new CliSupport.BadInput(where + ": tasks: entries must be paths of task files (strings)");
            Path p = Path.of(t.asText());
            if (!Files.isRegularFile(p)) throw new CliSupport.BadInput(where + ": tasks: " + p + ": no such file (make it with 'dagmoe tasks make')");
            TaskFile.read(p); // every line checked before anything is trained
            if (tasks.stream().anyMatch(q -> taskName(q).equals(taskName(p)))) {
                throw new CliSupport.BadInput(where + ": tasks: " + p + ": a second task named " + taskName(p));
            }
            tasks.add(p);
        }
        int evalBatches = positive(root, "eval_batches", 32, where);
        int probeBatches = positive(root, "probe_batches", 8, where);
        int probes = positive(root, "probes", 4, where);

        RunConfig baseCfg;
        try {
            baseCfg = RunConfig.load(base, sets);
        } catch (ConfigException e) {
            throw new CliSupport.BadInput(where + ": base: " + e.getMessage());
        }
        if (baseCfg.compare().variants().isEmpty()) throw new CliSupport.BadInput(base + ": no compare.variants");
        Set<String> variantNames = new LinkedHashSet<>();
        baseCfg.compare().variants().forEach(v -> variantNames.add(v.name()));

        // seeds per scale: the most any plan entry asks for
        JsonNode plan = root.path("plan");
        if (!plan.isArray() || plan.isEmpty()) throw new CliSupport.BadInput(where + ": plan: a non-empty list of {scale, variants, seeds}");
        JsonNode sc = root.path("scales");
        if (!sc.isObject() || sc.isEmpty()) throw new CliSupport.BadInput(where + ": scales: an object of named scales {tokens, size, set}");
        Map<String, Integer> maxSeeds = new LinkedHashMap<>();
        for (int i = 0; i < plan.size(); i++) {
            JsonNode e = plan.get(i);
            String s = e.path("scale").asText("");
            if (!sc.has(s)) throw new CliSupport.BadInput(where + ": plan[" + i + "].scale: " + s + ": not one of the scales " + names(sc));
            int seeds = e.path("seeds").asInt(0);
            if (seeds < 1) throw new CliSupport.BadInput(where + ": plan[" + i + "].seeds: must be >= 1");
            maxSeeds.merge(s, seeds, Math::max);
        }

        Map<String, Scale> scales = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = sc.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String s = e.getKey(), w = where + ": scales." + s;
            if (!s.matches("[A-Za-z0-9._-]+")) throw new CliSupport.BadInput(w + ": names may use letters, digits, '.', '_', '-'");
            long tokens = e.getValue().path("tokens").asLong(0);
            if (tokens < 1) throw new CliSupport.BadInput(w + ".tokens: must be >= 1 (training tokens per run)");
            Map<String, Object> set = new LinkedHashMap<>();
            JsonNode sn = e.getValue().path("set");
            for (Iterator<Map.Entry<String, JsonNode>> f = sn.fields(); f.hasNext(); ) {
                Map.Entry<String, JsonNode> kv = f.next();
                JsonNode v = kv.getValue();
                set.put(kv.getKey(), v.isInt() ? (Object) v.asInt() : v.isIntegralNumber() ? (Object) v.asLong()
                        : v.isNumber() ? (Object) v.asDouble() : v.isBoolean() ? (Object) v.asBoolean() : v.asText());
            }
            RunConfig cfg;
            try {
                cfg = baseCfg.with(set, w + ".set");
                int perStep = cfg.train().batchSize() * cfg.model().seqLen();
                int steps = (int) Math.max(1, Math.round((double) tokens / perStep));
                int every = Math.max(1, (int) Math.ceil((double) steps / probes));
                Map<String, Object> derived = new LinkedHashMap<>();
                derived.put("train.steps", steps);
                derived.put("train.warmup_steps", Math.max(1, Math.round(steps * 0.1f)));
                derived.put("train.eval_every", every);
                derived.put("train.checkpoint_every", every);
                derived.put("train.keep_checkpoints", 0);
                derived.put("compare.seeds", maxSeeds.getOrDefault(s, 1));
                cfg = cfg.with(derived, w);
            } catch (ConfigException ex) {
                throw new CliSupport.BadInput(ex.getMessage());
            }
            Path dir = runsRoot.resolve(s);
            scales.put(s, new Scale(s, tokens, e.getValue().path("size").asText("default"), set, cfg, dir));
        }

        List<Cell> cells = new ArrayList<>();
        Set<Path> seen = new LinkedHashSet<>();
        for (int i = 0; i < plan.size(); i++) {
            JsonNode e = plan.get(i);
            Scale s = scales.get(e.get("scale").asText());
            List<String> vs = new ArrayList<>();
            for (JsonNode v : e.path("variants")) {
                if (!variantNames.contains(v.asText())) {
                    throw new CliSupport.BadInput(where + ": plan[" + i + "].variants: " + v.asText() + ": not a variant of " + base + " " + variantNames);
                }
                vs.add(v.asText());
            }
            if (vs.isEmpty()) vs.addAll(variantNames);
            List<CompareCommand.PlannedRun> runs = CompareCommand.plan(s.config(), s.dir());
            int seeds = e.get("seeds").asInt();
            for (int k = 0; k < seeds; k++) {
                long seed = s.config().train().seed() + k;
                for (String v : vs) {
                    for (CompareCommand.PlannedRun r : runs) {
                        if (r.variant().equals(v) && r.seed() == seed && seen.add(r.dir())) cells.add(new Cell(s, r));
                    }
                }
            }
        }
        return new StudyPlan(name, file, base, ood, tasks, evalBatches, probeBatches, probes, scales, cells);
    }

    /** A task file's name in the tables: its folder and file name without .jsonl, e.g. europarl/choice-test. */
    static String taskName(Path task) {
        String f = task.getFileName().toString().replaceFirst("\\.jsonl$", "");
        Path parent = task.toAbsolutePath().normalize().getParent();
        return parent == null || parent.getFileName() == null ? f : parent.getFileName() + "/" + f;
    }

    private static int positive(JsonNode root, String key, int def, String where) {
        if (!root.has(key)) return def;
        JsonNode v = root.get(key);
        if (!v.canConvertToInt() || v.asInt() < 1) throw new CliSupport.BadInput(where + ": " + key + ": must be an integer >= 1");
        return v.asInt();
    }

    private static List<String> names(JsonNode o) {
        List<String> n = new ArrayList<>();
        o.fieldNames().forEachRemaining(n::add);
        return n;
    }
}
