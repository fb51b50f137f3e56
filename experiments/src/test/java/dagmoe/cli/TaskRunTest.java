package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.train.MetricsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A reasoning task end to end: answer-only loss, test accuracy in metrics, summary and the compare table. */
class TaskRunTest {
    @TempDir Path tmp;

    @Test
    void taskCompareReportsTestAccuracy() throws Exception {
        Path cfg = tmp.resolve("hops.json");
        Files.writeString(cfg, """
                {"model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 0, "n_experts": 4, "top_k": 2,
                           "expert_hidden": 16, "dag": {"rounds": 1, "width": 8}},
                 "train": {"steps": 6, "batch_size": 4, "lr": 0.003, "min_lr": 0.0003, "warmup_steps": 1,
                           "eval_every": 3, "checkpoint_every": 0, "log_every": 1},
                 "data": {"task": "hops", "task_params": {"n": 4, "k_max": 2, "test_size": 16}},
                 "backend": {"name": "java"},
                 "compare": {"seeds": 2, "variants": [{"name": "sum", "set": {"model.aggregator": "sum"}},
                                                      {"name": "dag", "set": {"model.aggregator": "dag"}}]}}""");
        Path out = tmp.resolve("cmp");
        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "compare", "--config", cfg.toString(), "--out", out.toString()), err.toString());

        JsonNode summary = new ObjectMapper().readTree(out.resolve("dag/s1/summary.json").toFile());
        double acc = summary.get("test_accuracy").asDouble();
        assertTrue(acc >= 0 && acc <= 1, "test_accuracy " + acc);
        JsonNode cfgJson = new ObjectMapper().readTree(out.resolve("dag/s1/config.json").toFile());
        assertEquals("answer", cfgJson.get("train").get("loss_on").asText(), "a task trains on its answer tokens by default");
        assertTrue(cfgJson.get("model").get("seq_len").asInt() > 0, "seq_len 0 resolved to the task's length");
        long evalLines = MetricsWriter.read(out.resolve("dag/s1")).stream()
                .filter(l -> l.path("kind").asText().equals("eval") && l.has("test_accuracy")).count();
        assertEquals(2, evalLines);

        String md = Files.readString(out.resolve("comparison.md"));
        assertTrue(md.contains("test accuracy (mean ± 95% CI)"), md);
        JsonNode dag = new ObjectMapper().readTree(out.resolve("comparison.json").toFile()).get("variants").get(1);
        assertEquals(2, dag.get("test_accuracy").size());
        assertTrue(dag.has("test_accuracy_ci95"));
        assertTrue(Files.exists(out.resolve("plots/compare_accuracy.png")));
        assertTrue(Files.exists(out.resolve("plots/compare_accuracy_by_level.png")));

        // eval of a task run reports its test accuracy again, from the checkpoint.
        int[] code = new int[1];
        String line = EvalGenerateTest.stdout(code, "eval", "--run", out.resolve("dag/s1").toString(), "--json");
        assertEquals(0, code[0]);
        assertEquals(acc, new ObjectMapper().readTree(line).get("test_accuracy").asDouble(), 0.0);
    }
}
