package dagmoe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.cli.Main;
import dagmoe.train.Checkpoints;
import dagmoe.train.MetricsWriter;
import dagmoe.train.Safetensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** A tiny corpus and compare config, and what the tests read back from run folders. */
final class ClusterTestSupport {
    private ClusterTestSupport() {}

    static final ObjectMapper JSON = new ObjectMapper();

    static Path config(Path dir, int steps, int batch, String extra) throws IOException {
        String[] words = {"the", "whale", "sea", "ship", "captain", "white", "and", "of", "a", "to", "in", "deep",
                "harpoon", "sailor", "wind", "storm", "ocean", "boat", "crew", "hunt"};
        Random r = new Random(42);
        StringBuilder sb = new StringBuilder();
        for (int line = 0; line < 600; line++) {
            int n = 5 + r.nextInt(8);
            for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            sb.append(".\n");
        }
        Files.createDirectories(dir);
        Path corpus = dir.resolve("corpus.txt");
        Files.writeString(corpus, sb.toString());
        Path f = dir.resolve("tiny.json");
        Files.writeString(f, """
                {"name": "tiny",
                 "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 8, "n_experts": 4, "top_k": 2,
                           "expert_hidden": 16, "aggregator": "dag", "dag": {"rounds": 1, "width": 8}},
                 "train": {"steps": %d, "batch_size": %d, "lr": 0.003, "min_lr": 0.0003, "warmup_steps": 2,
                           "eval_every": 10, "eval_batches": 2, "checkpoint_every": 5, "log_every": 1, "keep_checkpoints": 0},
                 "data": {"path": "%s"},
                 "backend": {"name": "cpu", "threads": 1},
                 "compare": {"seeds": 1, "variants": [
                    {"name": "sum", "set": {"model.aggregator": "sum"}},
                    {"name": "dag", "set": {"model.aggregator": "dag"}}]}%s}"""
                .formatted(steps, batch, corpus.toString().replace("\\", "/"), extra));
        return f;
    }

    static int run(String... args) {
        return Main.run(args);
    }

    static JsonNode json(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    /** Per logged step: {loss, balance_loss, z_loss}. */
    static List<double[]> losses(Path run) {
        List<double[]> out = new ArrayList<>();
        for (JsonNode l : MetricsWriter.read(run)) {
            if (l.path("kind").asText().equals("train")) {
                out.add(new double[] {l.get("loss").asDouble(), l.get("balance_loss").asDouble(), l.get("z_loss").asDouble()});
            }
        }
        return out;
    }

    /** The weights of the run's last checkpoint. */
    static Map<String, Safetensors.Tensor> weights(Path run) {
        Optional<Path> latest = new Checkpoints(run).latest();
        assertTrue(latest.isPresent(), "a checkpoint in " + run);
        return Checkpoints.load(latest.get()).model();
    }

    /** The largest relative difference ||a - b|| / ||b|| (Euclidean norm) over the tensors. */
    static double maxRelDiff(Map<String, Safetensors.Tensor> a, Map<String, Safetensors.Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        double worst = 0;
        for (String k : a.keySet()) {
            float[] x = a.get(k).data(), y = b.get(k).data();
            assertEquals(x.length, y.length, k);
            double d2 = 0, n2 = 0;
            for (int i = 0; i < x.length; i++) {
                d2 += (double) (x[i] - y[i]) * (x[i] - y[i]);
                n2 += (double) y[i] * y[i];
            }
            worst = Math.max(worst, Math.sqrt(d2 / Math.max(n2, 1e-30)));
        }
        return worst;
    }

    static void assertSameBits(Map<String, Safetensors.Tensor> a, Map<String, Safetensors.Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).data(), b.get(k).data(), k);
    }
}
