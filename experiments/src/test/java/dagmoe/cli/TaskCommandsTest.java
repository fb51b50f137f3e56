package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static dagmoe.cli.TrainCommandTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** dagmoe tasks make and dagmoe eval --task end to end; bad files exit 2 naming the line. */
class TaskCommandsTest {
    @TempDir Path tmp;

    Path corpus() throws Exception {
        String[] w = {"the", "whale", "sea", "ship", "white", "and", "of", "deep", "harpoon", "wind", "storm", "boat", "crew"};
        Random r = new Random(5);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            sb.append(i % 2 == 0 ? "The" : "A");
            for (int k = 0, n = 3 + r.nextInt(4); k < n; k++) sb.append(' ').append(w[r.nextInt(w.length)]);
            sb.append(i % 5 == 4 ? ".\n\n" : ". ");
        }
        Path f = tmp.resolve("story.txt");
        Files.writeString(f, sb.toString());
        return f;
    }

    @Test
    void makeTasksThenScoreThemAndRejectBadLines() throws Exception {
        Path text = corpus();
        Path a = tmp.resolve("tasks-a"), b = tmp.resolve("tasks-b");
        assertEquals(0, run(null, "tasks", "make", "--corpus", text.toString(), "--out", a.toString(), "--examples", "30", "--seed", "4"));
        assertEquals(0, run(null, "tasks", "make", "--corpus", text.toString(), "--out", b.toString(), "--examples", "30", "--seed", "4"));
        for (String f : List.of("choice-train", "choice-val", "choice-test", "cloze-train", "cloze-val", "cloze-test")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(f + ".jsonl")), Files.readAllBytes(b.resolve(f + ".jsonl")), f);
        }
        JsonNode manifest = new ObjectMapper().readTree(a.resolve("tasks.json").toFile());
        assertEquals(30, manifest.path("counts").path("choice-test").asInt());
        StringBuilder err = new StringBuilder();
        assertEquals(2, run(err, "tasks", "make", "--corpus", text.toString(), "--out", a.toString()));
        assertTrue(err.toString().contains("is not empty"), err.toString());

        Path cfg = CliTestSupport.config(tmp, "dag", 6, "");
        Path runDir = tmp.resolve("run");
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", runDir.toString(), "--set", "model.seq_len=128",
                "--set", "data.path=" + text));
        CliTestSupport.Result eval = CliTestSupport.run("eval", "--run", runDir.toString(), "--json",
                "--task", a.resolve("choice-test.jsonl").toString(), "--task", a.resolve("cloze-test.jsonl").toString());
        assertEquals(0, eval.code(), eval.err());
        String out = eval.out();
        String[] lines = out.strip().split("\n");
        assertEquals(2, lines.length, out);
        JsonNode mc = new ObjectMapper().readTree(lines[0]), cl = new ObjectMapper().readTree(lines[1]);
        assertEquals("choice", mc.get("kind").asText());
        assertEquals(30, mc.get("examples").asInt());
        for (String k : List.of("acc", "acc_norm")) {
            assertTrue(mc.get(k).asDouble() >= 0 && mc.get(k).asDouble() <= 1, out);
            assertTrue(mc.get(k + "_ci95").asDouble() > 0, out);
        }
        assertEquals("cloze", cl.get("kind").asText());
        assertFalse(cl.has("acc_norm"));

        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, Files.readAllLines(a.resolve("choice-test.jsonl")).get(0) + "\n{\"context\": \"x\", \"choices\": [\" a\", \" b\"], \"label\": 5}\n");
        err.setLength(0);
        assertEquals(2, run(err, "eval", "--run", runDir.toString(), "--task", bad.toString()));
        assertTrue(err.toString().contains(bad + ":2: \"label\" must be an integer in [0, 2)"), err.toString());
        err.setLength(0);
        assertEquals(2, run(err, "eval", "--run", runDir.toString(), "--task", tmp.resolve("nope.jsonl").toString()));
        assertTrue(err.toString().contains("nope.jsonl: task file not found"), err.toString());
        assertFalse(err.toString().contains("\tat "), err.toString());
    }
}
