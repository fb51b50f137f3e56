package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class StudyCommandTest {
    @TempDir Path tmp;

    private Path study(String plan) throws Exception {
        Path base = CliTestSupport.config(tmp, "sum", 6, """
                , "compare": {"seeds": 1, "variants": [
                    {"name": "sum", "set": {"model.aggregator": "sum"}},
                    {"name": "dag", "set": {"model.aggregator": "dag"}},
                    {"name": "shared", "set": {"model.aggregator": "shared"}}]}""");
        Path ood = tmp.resolve("ood.txt");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 300; i++) sb.append("call me ishmael, some years ago, never mind how long precisely.\n");
        Files.writeString(ood, sb.toString());
        Path tasks = Files.createDirectories(tmp.resolve("tasks/t"));
        Files.writeString(tasks.resolve("choice.jsonl"), """
                {"context": "call", "choices": [" me,", " him,", " you,"], "label": 0}
                {"context": "some years", "choices": [" later.", " ago."], "label": 1}
                {"context": "never mind how", "choices": [" long", " far", " wide"], "label": 0}
                """);
        Files.writeString(tasks.resolve("cloze.jsonl"), """
                {"context": "call me ishmael, some years", "target": " ago"}
                {"context": "never mind how", "target": " long"}
                """);
        Path f = tmp.resolve("study.json");
        Files.writeString(f, """
                {"name": "tiny-study", "base": "%s", "ood": ["%s"], "eval_batches": 3, "probe_batches": 2, "probes": 2,
                 "tasks": ["%s", "%s"],
                 "scales": {"a": {"tokens": 96, "size": "tiny"}, "b": {"tokens": 192, "size": "tiny"}},
                 "plan": %s}""".formatted(base.getFileName(), ood.toString().replace("\\", "/"),
                tasks.resolve("choice.jsonl").toString().replace("\\", "/"), tasks.resolve("cloze.jsonl").toString().replace("\\", "/"), plan));
        return f;
    }

    @Test
    void studyTrainsEvaluatesPairsAndResumes() throws Exception {
        Path f = study("""
                [{"scale": "a", "variants": ["sum", "dag", "shared"], "seeds": 2}, {"scale": "b", "variants": ["sum", "dag"], "seeds": 1}]""");
        Path out = tmp.resolve("out"), runs = tmp.resolve("runs");
        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "study", "--config", f.toString(), "--out", out.toString(), "--runs", runs.toString()), err::toString);

        ObjectMapper json = new ObjectMapper();
        // steps = tokens / (batch 2 · seq 8): 6 and 12; checkpoints every steps / probes, all kept
        JsonNode cfgA = json.readTree(runs.resolve("a/dag/s1/config.json").toFile());
        assertEquals(6, cfgA.get("train").get("steps").asInt());
        assertEquals(3, cfgA.get("train").get("checkpoint_every").asInt());
        assertEquals(12, json.readTree(runs.resolve("b/sum/s1/config.json").toFile()).get("train").get("steps").asInt());
        assertFalse(Files.exists(runs.resolve("b/shared")), "only the planned variants run");

        JsonNode ev = json.readTree(runs.resolve("a/dag/s2/study-eval.json").toFile());
        assertEquals(3, ev.get("val_batch_loss").size());
        assertEquals(3, ev.get("ood_batch_loss").get("ood.txt").size());
        assertEquals(2, ev.get("gate_probes").size(), "a probe at every checkpoint (steps 3 and 6)");
        JsonNode r0 = ev.get("gate_probes").get(1).get("rounds").get(0);
        assertEquals(16, r0.get("pair_means").size());
        assertTrue(r0.get("w_up_norm").asDouble() > 0, "trained: the up-projection has left zero");
        assertFalse(json.readTree(runs.resolve("a/sum/s1/study-eval.json").toFile()).has("gate_probes"));

        // The in-domain loss of the study's evaluation is the trainer's on the same batches (eval_batches 2 of 3).
        double trainerVal = json.readTree(runs.resolve("a/sum/s1/summary.json").toFile()).get("val_loss").asDouble();
        JsonNode sumEv = json.readTree(runs.resolve("a/sum/s1/study-eval.json").toFile()).get("val_batch_loss");
        assertEquals(trainerVal, (sumEv.get(0).asDouble() + sumEv.get(1).asDouble()) / 2, 1e-5);

        JsonNode st = json.readTree(out.resolve("study.json").toFile());
        assertEquals(8, st.get("runs_finished").asInt());
        JsonNode dagA = null;
        for (JsonNode r : st.get("rows")) if (r.get("scale").asText().equals("a") && r.get("variant").asText().equals("dag")) dagA = r;
        assertNotNull(dagA);
        // paired Δ = mean over seeds of (dag − sum) of the study evaluation's mean loss, recomputed here
        double d = 0;
        for (int s = 1; s <= 2; s++) {
            d += mean(json.readTree(runs.resolve("a/dag/s" + s + "/study-eval.json").toFile()).get("val_batch_loss"))
                    - mean(json.readTree(runs.resolve("a/sum/s" + s + "/study-eval.json").toFile()).get("val_batch_loss"));
        }
        assertEquals(d / 2, dagA.get("paired_vs_sum").get("mean_diff").asDouble(), 1e-9);
        assertEquals(2, dagA.get("paired_vs_sum").get("n").asInt());
        assertTrue(dagA.get("p_holm").asDouble() >= dagA.get("paired_vs_sum").get("p").asDouble());
        String md = Files.readString(out.resolve("report.md"));
        for (String s : new String[]{"PPL gain over sum", "p Holm", "MDE", "Out of domain", "DAG edge gates", "split-half"}) {
            assertTrue(md.contains(s), s + " in\n" + md);
        }
        assertTrue(Files.exists(out.resolve("plots/delta_vs_tokens.png")));

        // Downstream: the study's scores are the evaluator's on the final checkpoint, and the paired Δ is theirs.
        JsonNode tk = json.readTree(runs.resolve("a/dag/s1/study-tasks.json").toFile()).get("tasks");
        RunModel rm = RunModel.load(runs.resolve("a/dag/s1"), null, null);
        dagmoe.eval.TaskScorer.Scores sc = dagmoe.eval.TaskScorer.score(rm.model(), rm.tokenizer(),
                dagmoe.eval.TaskFile.read(tmp.resolve("tasks/t/choice.jsonl")));
        StringBuilder items = new StringBuilder();
        for (double x : sc.accNorm()) items.append(x > 0.5 ? '1' : '0');
        assertEquals(items.toString(), tk.get("t/choice").get("acc_norm_items").asText());
        assertEquals(2, tk.get("t/cloze").get("examples").asInt());
        assertFalse(tk.get("t/cloze").has("acc_norm"), "cloze has no acc_norm");
        double dd = 0;
        for (int s = 1; s <= 2; s++) {
            dd += json.readTree(runs.resolve("a/dag/s" + s + "/study-tasks.json").toFile()).get("tasks").get("t/choice").get("acc").asDouble()
                    - json.readTree(runs.resolve("a/sum/s" + s + "/study-tasks.json").toFile()).get("tasks").get("t/choice").get("acc").asDouble();
        }
        JsonNode down = null;
        for (JsonNode r : st.get("downstream")) {
            if (r.get("scale").asText().equals("a") && r.get("task").asText().equals("t/choice") && r.get("metric").asText().equals("acc")
                    && r.get("variant").asText().equals("dag")) down = r;
        }
        assertNotNull(down);
        assertEquals(dd / 2, down.get("paired_vs_sum").get("mean_diff").asDouble(), 1e-12);
        assertTrue(md.contains("Downstream accuracy"), md);
        assertTrue(Files.exists(out.resolve("runs/a/dag-s1.json")));

        // Again: nothing is retrained or re-evaluated.
        long before = Files.getLastModifiedTime(runs.resolve("a/dag/s2/study-eval.json")).toMillis();
        long beforeTasks = Files.getLastModifiedTime(runs.resolve("a/dag/s2/study-tasks.json")).toMillis();
        assertEquals(0, TrainCommandTest.run(null, "study", "--config", f.toString(), "--out", out.toString(), "--runs", runs.toString()));
        assertEquals(before, Files.getLastModifiedTime(runs.resolve("a/dag/s2/study-eval.json")).toMillis());
        assertEquals(beforeTasks, Files.getLastModifiedTime(runs.resolve("a/dag/s2/study-tasks.json")).toMillis());
    }

    @Test
    void badStudyFilesAreRefusedNamingTheField() throws Exception {
        StringBuilder err = new StringBuilder();
        Path f = study("[{\"scale\": \"c\", \"seeds\": 1}]");
        assertEquals(2, TrainCommandTest.run(err, "study", "--config", f.toString(), "--runs", tmp.resolve("r").toString()));
        assertTrue(err.toString().contains("plan[0].scale: c"), err.toString());
        err.setLength(0);
        f = study("[{\"scale\": \"a\", \"variants\": [\"chain\"], \"seeds\": 1}]");
        assertEquals(2, TrainCommandTest.run(err, "study", "--config", f.toString(), "--runs", tmp.resolve("r").toString()));
        assertTrue(err.toString().contains("plan[0].variants: chain"), err.toString());
        err.setLength(0);
        f = study("[{\"scale\": \"a\", \"seeds\": 1}]");
        Files.writeString(f, Files.readString(f).replace("choice.jsonl", "missing.jsonl"));
        assertEquals(2, TrainCommandTest.run(err, "study", "--config", f.toString(), "--runs", tmp.resolve("r").toString()));
        assertTrue(err.toString().contains("tasks: ") && err.toString().contains("missing.jsonl"), err.toString());
        assertFalse(Files.exists(tmp.resolve("r")), "nothing written");
    }

    private static double mean(JsonNode a) {
        double s = 0;
        for (JsonNode x : a) s += x.asDouble();
        return s / a.size();
    }
}
