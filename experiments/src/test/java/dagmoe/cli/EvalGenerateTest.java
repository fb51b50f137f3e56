package dagmoe.cli;

import dagmoe.train.Checkpoints;
import dagmoe.train.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class EvalGenerateTest {
    @TempDir Path tmp;

    static String stdout(int[] code, String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            code[0] = Main.run(args);
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void evalGenerateAndDamagedCheckpoints() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "dag", 6, "");
        Path run = tmp.resolve("run");
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", run.toString()));

        // eval on the run's own data reproduces the final validation loss of training (same batches, same weights).
        int[] code = new int[1];
        String out = stdout(code, "eval", "--run", run.toString(), "--json");
        assertEquals(0, code[0]);
        double trained = new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.resolve("summary.json").toFile())
                .get("val_loss").asDouble();
        double evaluated = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out).get("val_loss").asDouble();
        assertEquals(trained, evaluated, 0.0);

        // generate: greedy decoding is deterministic and continues the prompt.
        String g1 = stdout(code, "generate", "--run", run.toString(), "--prompt", "the whale", "--tokens", "12", "--temperature", "0");
        assertEquals(0, code[0]);
        String g2 = stdout(code, "generate", "--run", run.toString(), "--prompt", "the whale", "--tokens", "12", "--temperature", "0");
        assertEquals(g1, g2);
        assertTrue(g1.startsWith("the whale"), g1);
        RunModel rm = RunModel.load(run, null, null);
        int[] prompt = rm.tokenizer().encode("the whale");
        int[] ids = GenerateCommand.generate(rm.model(), prompt, 12, 0, 0, 1);
        assertEquals(prompt.length + 12, ids.length);
        // Greedy: each new token is the argmax of the logits of the last position of its context.
        int S = rm.model().config().seqLen();
        int[] ctx = Arrays.copyOfRange(ids, Math.max(0, prompt.length - S), prompt.length); // the last seq_len tokens
        rm.model().forward(ctx, null, 1, ctx.length);
        float[] logits = rm.model().logits();
        int V = rm.model().config().vocabSize(), best = 0;
        for (int v = 0; v < V; v++) if (logits[(ctx.length - 1) * V + v] > logits[(ctx.length - 1) * V + best]) best = v;
        assertEquals(best, ids[prompt.length]);
        assertEquals(rm.tokenizer().decode(ids), g1.substring(0, g1.length() - System.lineSeparator().length()));

        Path ckpt = new Checkpoints(run).latest().orElseThrow();
        Path model = ckpt.resolve(Checkpoints.MODEL_FILE);
        byte[] good = Files.readAllBytes(model);

        // Truncated weights: exit 2, one line naming the file, no stack trace.
        Files.write(model, Arrays.copyOf(good, good.length / 2));
        StringBuilder err = new StringBuilder();
        assertEquals(2, TrainCommandTest.run(err, "eval", "--run", run.toString()));
        assertTrue(err.toString().contains(model.toString()), err.toString());
        assertFalse(err.toString().contains("\tat "), err.toString());

        // A tensor whose shape does not match the config: exit 2 naming the tensor.
        // (written as a checkpoint, so its checksums are right: the shape is what is wrong)
        Map<String, Safetensors.Tensor> ts = new LinkedHashMap<>();
        Files.write(model, good);
        Checkpoints.Loaded loaded = Checkpoints.load(ckpt);
        ts.putAll(loaded.model());
        ts.put("final_norm", new Safetensors.Tensor(new int[]{3}, new float[]{1, 1, 1}));
        new Checkpoints(run).save(loaded.step(), ts, loaded.optimizer(), (com.fasterxml.jackson.databind.node.ObjectNode) loaded.state(), 0);
        err.setLength(0);
        assertEquals(2, TrainCommandTest.run(err, "generate", "--run", run.toString(), "--prompt", "x"));
        assertTrue(err.toString().contains("tensor final_norm has shape [3]"), err.toString());

        // A huge header length: exit 2.
        byte[] bad = good.clone();
        bad[7] = 0x7f;
        Files.write(model, bad);
        err.setLength(0);
        assertEquals(2, TrainCommandTest.run(err, "eval", "--run", run.toString()));
        assertTrue(err.toString().contains("header length"), err.toString());

        assertEquals(2, TrainCommandTest.run(null, "eval", "--run", tmp.resolve("nope").toString()));
    }
}
