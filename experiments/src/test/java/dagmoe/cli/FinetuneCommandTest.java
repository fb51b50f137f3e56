package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.train.Checkpoints;
import dagmoe.train.MetricsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dagmoe.cli.TrainCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** dagmoe finetune: source recorded, resumable, upcycling starts at the source's function, freezing, bad input. */
class FinetuneCommandTest {
    @TempDir Path tmp;
    static final ObjectMapper JSON = new ObjectMapper();

    /** A tiny sum run of 10 steps (checkpoints at 5 and 10). */
    Path source(String aggregator, String backend) throws Exception {
        Path src = tmp.resolve("src-" + aggregator + "-" + backend);
        Path cfg = CliTestSupport.config(tmp, aggregator, 10, "");
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", src.toString(), "--backend", backend));
        return src;
    }

    static JsonNode read(Path f) throws Exception {
        return JSON.readTree(f.toFile());
    }

    @Test
    void recordsTheSourceResumesBitForBitAndFinetunesOnATask() throws Exception {
        Path src = source("sum", "java");
        Path cfg = CliTestSupport.config(tmp, "sum", 20, "");
        Path a = tmp.resolve("ft-straight"), b = tmp.resolve("ft-split");
        assertEquals(0, run(null, "finetune", "--from", src.toString(), "--checkpoint", "5", "--config", cfg.toString(),
                "--out", a.toString()));
        assertEquals(0, run(null, "finetune", "--from", src.toString(), "--checkpoint", "5", "--config", cfg.toString(),
                "--out", b.toString(), "--until", "10"));
        assertEquals(0, run(null, "finetune", "--resume", "--out", b.toString()));
        TrainCommandTest.assertIdentical(a, b);
        JsonNode c = read(b.resolve("config.json")), s = read(b.resolve("summary.json"));
        assertEquals(src.toString(), c.path("finetune").path("from").asText());
        assertEquals(5, c.path("finetune").path("checkpoint").asInt());
        assertEquals(src.toString(), s.get("finetune_from").asText());
        assertEquals(5, s.get("finetune_checkpoint").asInt());
        assertEquals(20, s.get("steps").asInt(), "a fresh schedule: 20 steps of its own");
        assertEquals(s.get("params_total").asLong(), s.get("params_trainable").asLong());

        // Without --checkpoint: the latest (10), recorded as such. A fine-tune starts below a fresh run's loss.
        Path latest = tmp.resolve("ft-latest"), scratch = tmp.resolve("scratch");
        assertEquals(0, run(null, "finetune", "--from", src.toString(), "--config", cfg.toString(), "--out", latest.toString(),
                "--until", "1"));
        assertEquals(10, read(latest.resolve("config.json")).path("finetune").path("checkpoint").asInt());
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", scratch.toString(), "--until", "1"));
        assertTrue(CliTestSupport.losses(latest).get(0) < CliTestSupport.losses(scratch).get(0) - 0.1);

        // A reasoning task as the target: vocab_size 0 keeps the source's embedding (the task's symbols are ids in it).
        Path task = tmp.resolve("ft-task");
        assertEquals(0, run(null, "finetune", "--from", src.toString(), "--config", cfg.toString(), "--out", task.toString(),
                "--set", "data.task=hops", "--set", "data.task_params.n=3", "--set", "data.task_params.test_size=8",
                "--set", "model.seq_len=0", "--set", "train.steps=3"));
        JsonNode tc = read(task.resolve("config.json"));
        assertEquals(256, tc.path("model").path("vocab_size").asInt());
        assertTrue(read(task.resolve("summary.json")).has("test_accuracy"));
    }

    /** The first step of sum upcycled to dag / mlp-mix sees the source's losses bit for bit (the same batch as a sum fine-tune). */
    @ParameterizedTest
    @ValueSource(strings = {"java", "cpu"})
    void upcycledFirstStepHasTheSourcesLossesBitForBit(String backend) throws Exception {
        Path src = source("sum", backend);
        Path cfg = CliTestSupport.config(tmp, "sum", 10, "");
        JsonNode want = null;
        for (String agg : List.of("sum", "dag", "mlp-mix")) {
            Path out = tmp.resolve("up-" + agg + "-" + backend);
            assertEquals(0, run(null, "finetune", "--from", src.toString(), "--config", cfg.toString(), "--out", out.toString(),
                    "--set", "model.aggregator=" + agg, "--backend", backend, "--until", "1"));
            JsonNode first = MetricsWriter.read(out).get(0);
            assertEquals(1, first.get("step").asInt());
            if (want == null) {
                want = first;
                continue;
            }
            for (String k : List.of("loss", "balance_loss", "z_loss", "total_loss")) {
                assertEquals(Double.doubleToLongBits(want.get(k).asDouble()), Double.doubleToLongBits(first.get(k).asDouble()),
                        agg + " " + k + ": " + want.get(k) + " vs " + first.get(k));
            }
        }
    }

    @Test
    void frozenGroupsKeepTheSourceWeightsBitForBit() throws Exception {
        Path src = source("sum", "java");
        Path cfg = CliTestSupport.config(tmp, "sum", 6, "");
        Path out = tmp.resolve("frozen");
        assertEquals(0, run(null, "finetune", "--from", src.toString(), "--config", cfg.toString(), "--out", out.toString(),
                "--set", "train.freeze=attention,router"));
        var before = Checkpoints.load(new Checkpoints(src).latest().orElseThrow()).model();
        var after = Checkpoints.load(new Checkpoints(out).latest().orElseThrow()).model();
        int frozen = 0;
        for (String n : before.keySet()) {
            boolean isFrozen = n.contains(".attn.") || n.endsWith(".moe.router");
            boolean same = java.util.Arrays.equals(before.get(n).data(), after.get(n).data());
            assertEquals(isFrozen, same, n);
            if (isFrozen) frozen += before.get(n).data().length;
        }
        JsonNode s = read(out.resolve("summary.json"));
        assertEquals(frozen, s.get("params_frozen").asLong());
        assertEquals(s.get("params_total").asLong() - frozen, s.get("params_trainable").asLong());
        assertEquals("[\"attention\",\"router\"]", read(out.resolve("config.json")).path("train").path("freeze").toString());
    }

    @Test
    void badSourcesExitWith2NamingTheProblemAndWriteNothing() throws Exception {
        Path src = source("sum", "java");
        Path dagSrc = source("dag", "java");
        Path cfg = CliTestSupport.config(tmp, "sum", 4, "");
        Path out = tmp.resolve("bad");
        String[][] cases = {
                {"finetune.from = " + tmp.resolve("nope") + ": not a run folder", "--from", tmp.resolve("nope").toString()},
                {"has no complete checkpoint of that step (complete: [5, 10])", "--from", src.toString(), "--checkpoint", "7"},
                {"tensor tok_emb has shape [256, 16] but the config's model needs [256, 32]", "--from", src.toString(),
                        "--set", "model.d_model=32"},
                {"model.n_heads = 4: the source run " + src + " has 2", "--from", src.toString(), "--set", "model.n_heads=4"},
                {"tensor layers.0.moe.dag.0.norm [16] has no counterpart in the config's model", "--from", dagSrc.toString()},
                {"no tensor layers.1.attn_norm [16]", "--from", src.toString(), "--set", "model.n_layers=2"},
                {"data.tokenizer = gpt2: the source run " + src + " uses byte", "--from", src.toString(), "--set", "data.tokenizer=gpt2"},
                {"train.freeze = atention: atention is not one of embedding, attention", "--from", src.toString(),
                        "--set", "train.freeze=atention"},
                {"--from RUN_DIR is required"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("finetune", "--config", cfg.toString(), "--out", out.toString()));
            args.addAll(List.of(c).subList(1, c.length));
            StringBuilder err = new StringBuilder();
            assertEquals(2, run(err, args.toArray(new String[0])), String.join(" ", args) + ": " + err);
            assertTrue(err.toString().contains(c[0]), "expected '" + c[0] + "' in: " + err);
            assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
            assertFalse(Files.exists(out), "nothing written after: " + err);
        }
    }
}
