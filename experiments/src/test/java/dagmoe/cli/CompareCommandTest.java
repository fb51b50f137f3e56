package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class CompareCommandTest {
    @TempDir Path tmp;

    @Test
    void compareWritesTheDocumentedTableAndIsResumable() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 6, """
                , "compare": {"seeds": 2, "note": "a short budget shows little", "variants": [
                    {"name": "sum", "set": {"model.aggregator": "sum"}},
                    {"name": "dag", "set": {"model.aggregator": "dag", "model.dag.rounds": 2}},
                    {"name": "shared", "set": {"model.aggregator": "shared"}}]}""");
        Path out = tmp.resolve("cmp");
        assertEquals(0, TrainCommandTest.run(null, "compare", "--config", cfg.toString(), "--out", out.toString()));

        String md = Files.readString(out.resolve("comparison.md"));
        for (String col : new String[]{"params total", "params active", "params aggregator", "val loss (mean ± 95% CI)",
                "val ppl", "Δ vs sum", "p vs sum", "tokens/s", "overhead vs sum"}) {
            assertTrue(md.contains(col), "column " + col + " in\n" + md);
        }
        assertTrue(md.contains("Note: a short budget shows little"), md);
        JsonNode json = new ObjectMapper().readTree(out.resolve("comparison.json").toFile());
        assertEquals("sum", json.get("reference").asText());
        assertEquals(3, json.get("variants").size());
        JsonNode dag = json.get("variants").get(1);
        assertEquals("dag", dag.get("aggregator").asText());
        assertEquals(2, dag.get("val_loss").size());
        double m = (dag.get("val_loss").get(0).asDouble() + dag.get("val_loss").get(1).asDouble()) / 2;
        assertEquals(m, dag.get("val_loss_mean").asDouble(), 1e-12);
        for (String k : new String[]{"val_loss_ci95", "val_ppl", "delta_vs_ref", "p_value_vs_ref", "tokens_per_second",
                "step_time_overhead_vs_ref", "params_total", "params_active", "params_aggregator"}) {
            assertTrue(dag.has(k), k);
        }
        // The shared width is matched to the dag variant (L 2, g 8, d 16): round(2·(2·16·8 + 4·64 + 16)/(3·16)).
        JsonNode sharedCfg = new ObjectMapper().readTree(out.resolve("shared/s1/config.json").toFile());
        int expected = (int) Math.round(ModelConfig.dagExtraParams(16, 8, 2) / (3.0 * 16));
        assertEquals(expected, sharedCfg.get("model").get("shared").get("hidden").asInt());
        assertTrue(Files.exists(out.resolve("plots/compare_val_loss.png")));
        assertTrue(Files.exists(out.resolve("dag/s2/summary.json")));

        // Started again: every run is skipped (summary.json present), the report is rewritten identically.
        long before = Files.getLastModifiedTime(out.resolve("dag/s2/summary.json")).toMillis();
        assertEquals(0, TrainCommandTest.run(null, "compare", "--config", cfg.toString(), "--out", out.toString()));
        assertEquals(before, Files.getLastModifiedTime(out.resolve("dag/s2/summary.json")).toMillis());

        // Another config into the same folder is refused before anything is written.
        StringBuilder err = new StringBuilder();
        assertEquals(2, TrainCommandTest.run(err, "compare", "--config", cfg.toString(), "--out", out.toString(),
                "--set", "model.d_model=32"));
        assertTrue(err.toString().contains("holds a run of another config"), err.toString());
    }
}
