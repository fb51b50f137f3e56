package dagmoe.cli;

import static dagmoe.cli.CliTestSupport.run;
import dagmoe.cli.CliTestSupport.Result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import javax.imageio.ImageIO;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bench --config}: the files and fields it writes (java and cpu on a tiny model: two kernel cases and
 * the training step), and what happens to a tornado request in a JVM without TornadoVM.
 */
class BenchConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** d 16, 1 layer, seq 8, batch 2, vocab 32: kernel shapes T = 16 tokens, expert hidden 24. */
    static Path config(Path dir, String bench) throws IOException {
        Path f = dir.resolve("tiny-bench.json");
        Files.writeString(f, """
                {"model": {"vocab_size": 32, "d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 8, "n_experts": 4,
                           "top_k": 2, "expert_hidden": 24, "aggregator": "dag", "dag": {"rounds": 1, "width": 8}},
                 "train": {"batch_size": 2, "seed": 3},
                 "bench": %s}""".formatted(bench));
        return f;
    }

    static boolean tornadoInThisJvm() {
        try {
            Class.forName("dagmoe.backend.tornado.TornadoBackend");
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }

    @Test
    void aggregatorSuiteProfilePrintsEveryAggregatorsOps(@TempDir Path dir) throws IOException {
        // a tiny model at the suite's 16 x 128 batch: the per-op profile has the dag's own ops (in the dag column
        // only) and the products every aggregator runs
        Path f = dir.resolve("tiny-agg.json");
        Files.writeString(f, """
                {"model": {"vocab_size": 32, "d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 128, "n_experts": 4,
                           "top_k": 2, "expert_hidden": 16, "dag": {"rounds": 1, "width": 8}, "mlp_mix": {"width": 8}}}""");
        Result r = run("bench", "--suite", "aggregators", "--config", f.toString(), "--backends", "cpu", "--threads", "1",
                "--reps", "1", "--profile");
        assertEquals(0, r.code(), r.err());
        String out = r.out();
        int wall = out.indexOf("Backend op wall ms per step"), cpu = out.indexOf("Backend op CPU ms per step");
        assertTrue(wall > 0 && cpu > wall, out);
        String table = out.substring(wall, cpu);
        String pair = table.lines().filter(l -> l.startsWith("dagPairwiseBackward ")).findFirst().orElseThrow(() -> new AssertionError(table));
        // columns sum, shared, dag, mlp-mix, chain: "ms (calls)"; only dag calls it, once per MoE block and round
        List<String> cells = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9.]+) \\(\\s*(\\d+)\\)").matcher(pair);
        while (m.find()) cells.add(m.group(2));
        assertEquals(List.of("0", "0", "1", "0", "0"), cells, pair);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("matmulABt ")), table);
        assertEquals(2, run("bench", "--suite", "kernels", "--profile").code(), "--profile needs --suite aggregators");
    }

    @Test
    void peerWarmupStepsAreCheckedAndNeedThePeer() {
        var noPeer = run("bench", "--suite", "kernels", "--warmup-steps", "2");
        assertEquals(2, noPeer.code());
        assertTrue(noPeer.err().contains("--warmup-steps: only with --peer"), noPeer.err());
        var negative = run("bench", "--peer", "torch", "--config", "configs/peer-ref.json", "--warmup-steps", "-1");
        assertEquals(2, negative.code());
        assertTrue(negative.err().contains("--warmup-steps = -1: must be >= 0"), negative.err());
    }

    @Test
    void javaAndCpuWriteJsonMarkdownAndChart(@TempDir Path dir) throws IOException {
        Path cfg = config(dir, """
                {"kernels": ["matmulABt (expert gate/up fwd)", "rmsnormForward"], "kernel_reps": 3, "kernel_warmup_s": 0,
                 "kernel_budget_s": 0.2, "warmup": 1, "reps": 3}""");
        Path out = dir.resolve("out");
        Result r = run("bench", "--config", cfg.toString(), "--backends", "java,cpu", "--threads", "2", "--out", out.toString(),
                "--json", dir.resolve("copy.json").toString());
        assertEquals(0, r.code(), r.out() + r.err());

        JsonNode rows = JSON.readTree(out.resolve("bench.json").toFile());
        assertEquals(rows, JSON.readTree(dir.resolve("copy.json").toFile()), "--json writes the same rows");
        // MFU of each step row against the cpu 1024³ ceiling (a tiny step: the OpenBLAS ceiling is skipped)
        for (String be : List.of("java", "cpu")) {
            assertTrue(r.out().contains("MFU trainStep dag on " + be + ": "), r.out());
        }
        assertTrue(r.out().contains("% of the cpu 1024³ product ceiling"), r.out());
        // 2 kernel cases x 2 backends + the training step x 2 backends
        assertEquals(6, rows.size(), rows.toString());
        Set<String> seen = new HashSet<>();
        for (JsonNode row : rows) {
            for (String f : List.of("op", "backend", "shape", "first_ms", "median_ms", "min_ms", "cv", "gflops")) {
                assertTrue(row.has(f), f + " missing in " + row);
            }
            double median = row.get("median_ms").asDouble(), min = row.get("min_ms").asDouble();
            assertTrue(min > 0 && min <= median, row.toString());
            assertTrue(row.get("cv").asDouble() >= 0, row.toString());
            // tornado-only fields stay out of java/cpu rows
            for (String f : List.of("compile_ms", "h2d_ms", "kernel_ms", "d2h_ms")) assertFalse(row.has(f), f + " in " + row);
            seen.add(row.get("op").asText() + " | " + row.get("shape").asText() + " | " + row.get("backend").asText());
            if (row.get("suite").asText().equals("step")) {
                // tokens/s at the median: batch 2 x seq 8 tokens per step
                assertEquals(16 / (median / 1000), row.get("tokens_per_second").asDouble(), 1e-6 * row.get("tokens_per_second").asDouble());
                assertEquals(3, row.get("reps").asInt());
            } else {
                assertFalse(row.has("tokens_per_second"), row.toString());
            }
        }
        // kernel shapes are the config model's: T = 2·8 tokens, expert hidden 24, d 16
        for (String be : List.of("java", "cpu")) {
            assertTrue(seen.contains("matmulABt (expert gate/up fwd) | 16x24x16 | " + be), seen.toString());
            assertTrue(seen.contains("rmsnormForward | 16x16 | " + be), seen.toString());
            assertTrue(seen.contains("trainStep dag | B2 S8 d16 L1 N4 K2 de24 V32 | " + be), seen.toString());
        }

        String md = Files.readString(out.resolve("bench.md"));
        assertTrue(md.startsWith("# dagmoe bench --config"), md);
        long tableRows = md.lines().filter(l -> l.startsWith("| ") && !l.startsWith("| op ")).count();
        assertEquals(rows.size(), tableRows, md);
        for (String png : List.of("bench.png", "bench-step.png")) {
            BufferedImage img = ImageIO.read(out.resolve(png).toFile());
            assertNotNull(img, png + " is not a readable PNG");
            assertTrue(img.getWidth() >= 800 && img.getHeight() >= 700, png);
        }
    }

    /** A one-step bench of {@code backends} into {@code out}, in a build without the TornadoVM backend. */
    private Result benchWithoutTornadoVm(Path dir, String backends, Path out) throws IOException {
        assumeTrue(!tornadoInThisJvm(), "this build has the TornadoVM backend");
        Path cfg = config(dir, "{\"kernels\": \"none\", \"warmup\": 0, \"reps\": 1}");
        return run("bench", "--config", cfg.toString(), "--backends", backends, "--out", out.toString());
    }

    @Test
    void tornadoAloneWithoutTornadoVmExitsTwoWithHowToEnable(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        Result r = benchWithoutTornadoVm(dir, "tornado", out);
        assertEquals(2, r.code(), r.out() + r.err());
        String err = r.err().trim();
        assertTrue(err.startsWith("dagmoe: ") && err.contains("tornado") && err.contains("TORNADOVM_HOME"), err);
        assertEquals(1, err.lines().count(), "one message line: " + err);
        assertFalse(Files.exists(out.resolve("bench.json")), "nothing written");
    }

    @Test
    void tornadoAmongOthersIsSkippedWithALine(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("out");
        Result r = benchWithoutTornadoVm(dir, "java,tornado", out);
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> skipped = new ArrayList<>(r.out().lines().filter(l -> l.startsWith("bench: skipping backend tornado: ")).toList());
        assertEquals(1, skipped.size(), r.out());
        assertTrue(skipped.get(0).contains("TORNADOVM_HOME"), skipped.get(0));
        JsonNode rows = JSON.readTree(out.resolve("bench.json").toFile());
        assertEquals(1, rows.size(), rows.toString());
        assertEquals("java", rows.get(0).get("backend").asText());
        assertTrue(Files.readString(out.resolve("bench.md")).contains("skipping backend tornado"));
    }

    @Test
    void unknownBenchKeyIsBadInput(@TempDir Path dir) throws IOException {
        Path cfg = config(dir, "{\"repz\": 3}");
        Result r = run("bench", "--config", cfg.toString(), "--backends", "java", "--out", dir.resolve("out").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("bench.repz") && r.err().contains("tiny-bench.json"), r.err());
    }
}
