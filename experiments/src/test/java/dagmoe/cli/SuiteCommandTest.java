package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** dagmoe suite: runs every compare config of a folder, skips finished runs when started again, writes the tables. */
class SuiteCommandTest {
    @TempDir Path tmp;

    private static String config(String name, String task, String params, int layers) {
        return """
                {"name": "%s",
                 "model": {"d_model": 16, "n_layers": %d, "n_heads": 2, "seq_len": 0, "n_experts": 4, "top_k": 2,
                           "expert_hidden": 16, "dag": {"rounds": 1, "width": 8}},
                 "train": {"steps": 4, "batch_size": 4, "lr": 0.003, "min_lr": 0.0003, "warmup_steps": 1,
                           "eval_every": 2, "checkpoint_every": 0, "log_every": 1},
                 "data": {"task": "%s", "task_params": %s},
                 "backend": {"name": "java"},
                 "compare": {"seeds": 2, "variants": [{"name": "sum", "set": {"model.aggregator": "sum"}},
                                                      {"name": "shared", "set": {"model.aggregator": "shared"}},
                                                      {"name": "dag", "set": {"model.aggregator": "dag"}}]}}"""
                .formatted(name, layers, task, params);
    }

    /** Runs the command line with stdout captured. */
    private static int run(StringBuilder stdout, StringBuilder err, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return TrainCommandTest.run(err, args);
        } finally {
            System.setOut(old);
            stdout.append(buf.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void runsEveryConfigSkipsFinishedRunsAndWritesTables() throws Exception {
        Path dir = tmp.resolve("suite");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("hops-1layer.json"), config("hops-1layer", "hops", "{\"n\": 4, \"k_max\": 2, \"test_size\": 16}", 1));
        Files.writeString(dir.resolve("lis-1layer.json"), config("lis-1layer", "lis", "{\"length\": 4, \"max_value\": 5, \"test_size\": 16}", 1));
        Path out = tmp.resolve("results"), runs = tmp.resolve("runs");
        String[] args = {"suite", "--dir", dir.toString(), "--out", out.toString(), "--runs", runs.toString()};

        StringBuilder so = new StringBuilder(), err = new StringBuilder();
        assertEquals(0, run(so, err, args), err + "\n" + so);
        List<Path> summaries = new ArrayList<>();
        for (String c : List.of("hops-1layer", "lis-1layer")) {
            for (String v : List.of("sum", "shared", "dag")) {
                for (int s = 1; s <= 2; s++) summaries.add(runs.resolve(c).resolve(v).resolve("s" + s).resolve("summary.json"));
            }
        }
        for (Path p : summaries) assertTrue(Files.isRegularFile(p), p + " missing");
        // Seed-major order: every config's seed 1 before any seed 2.
        String log = so.toString();
        assertTrue(log.lastIndexOf("lis-1layer dag s1") < log.indexOf("hops-1layer sum s2"), log);

        // The tables against the runs' own summaries.
        ObjectMapper json = new ObjectMapper();
        JsonNode hops = json.readTree(out.resolve("hops.json").toFile()).get("groups").get(0);
        assertEquals("hops-1layer", hops.get("config").asText());
        assertEquals(1, hops.get("layers").asInt());
        for (JsonNode v : hops.get("variants")) {
            double a1 = json.readTree(runs.resolve("hops-1layer").resolve(v.get("name").asText()).resolve("s1/summary.json").toFile())
                    .get("test_accuracy").asDouble();
            double a2 = json.readTree(runs.resolve("hops-1layer").resolve(v.get("name").asText()).resolve("s2/summary.json").toFile())
                    .get("test_accuracy").asDouble();
            assertEquals(2, v.get("runs_finished").asInt());
            assertEquals((a1 + a2) / 2, v.get("test_accuracy_mean").asDouble(), 1e-12);
            // 95% CI of two values: t(0.975, 1) = 12.7062 times sd / sqrt(2) = |a1 - a2| / 2.
            assertEquals(12.706204736174705 * Math.abs(a1 - a2) / 2, v.get("test_accuracy_ci95").asDouble(), 1e-9);
            assertTrue(v.get("test_accuracy_by_level").has("1") && v.get("test_accuracy_by_level").has("2"), v.toString());
        }
        // Welch's p of each variant's accuracies against sum's (the same seeds' summaries).
        double[] sumAcc = accuracies(json, runs.resolve("hops-1layer/sum"));
        assertTrue(hops.get("variants").get(0).get("p_value_vs_sum").isTextual(), "no p for sum itself (NaN)");
        assertEquals(dagmoe.report.Stats.welchP(accuracies(json, runs.resolve("hops-1layer/dag")), sumAcc),
                hops.get("variants").get(2).get("p_value_vs_sum").asDouble(), 1e-12);
        // shared is parameter-matched by compare's rule: its aggregator parameters are close to dag's.
        long pShared = hops.get("variants").get(1).get("params_aggregator").asLong();
        long pDag = hops.get("variants").get(2).get("params_aggregator").asLong();
        assertTrue(Math.abs(pShared - pDag) <= 3 * 16, pShared + " vs " + pDag);
        String md = Files.readString(out.resolve("accuracy.md"));
        assertTrue(md.contains("| variant | hops 1L | lis 1L |"), md);
        assertTrue(md.contains("Runs finished: 12 of 12"), md);
        for (String f : List.of("lis.md", "suite.json", "plots/hops-1layer_accuracy_vs_steps.png",
                "plots/hops-1layer_accuracy_by_level.png", "plots/lis-1layer_accuracy_by_level.png")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " missing");
        }
        assertTrue(Files.isRegularFile(runs.resolve("hops-1layer/comparison.md")), "compare's own table for a complete config");

        // Started again: nothing is trained, the summaries are untouched.
        List<FileTime> times = new ArrayList<>();
        for (Path p : summaries) times.add(Files.getLastModifiedTime(p));
        StringBuilder so2 = new StringBuilder();
        assertEquals(0, run(so2, err, args), err.toString());
        assertEquals(12, so2.toString().split("finished earlier, skipped", -1).length - 1, so2.toString());
        for (int i = 0; i < summaries.size(); i++) assertEquals(times.get(i), Files.getLastModifiedTime(summaries.get(i)));
    }

    private static double[] accuracies(ObjectMapper json, Path variant) throws Exception {
        double[] a = new double[2];
        for (int s = 1; s <= 2; s++) a[s - 1] = json.readTree(variant.resolve("s" + s).resolve("summary.json").toFile()).get("test_accuracy").asDouble();
        return a;
    }

    @Test
    void badFolderExitsWith2() throws Exception {
        StringBuilder so = new StringBuilder(), err = new StringBuilder();
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(2, run(so, err, "suite", "--dir", empty.toString(), "--out", tmp.resolve("o").toString()));
        assertTrue(err.toString().contains("no compare configs"), err.toString());
        assertFalse(Files.exists(tmp.resolve("o")));

        Path d = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(d.resolve("a.json"), "{\"data\": {\"task\": \"hops\"}}");
        StringBuilder err2 = new StringBuilder();
        assertEquals(2, run(so, err2, "suite", "--dir", d.toString(), "--out", tmp.resolve("o").toString()));
        assertTrue(err2.toString().contains("a.json") && err2.toString().contains("compare.variants"), err2.toString());
        assertFalse(Files.exists(tmp.resolve("o")));
    }
}
