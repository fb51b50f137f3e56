package dagmoe.cli;

import dagmoe.train.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrainCommandTest {
    @TempDir Path tmp;

    /** Runs the CLI in-process and returns its exit code; stderr is captured into {@code err}. */
    static int run(StringBuilder err, String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return Main.run(args);
        } finally {
            System.setErr(old);
            if (err != null) err.append(buf.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void badInputExitsWith2AndWritesNothing() throws Exception {
        Path out = tmp.resolve("out");
        StringBuilder err = new StringBuilder();
        assertEquals(2, run(err, "train", "--config", tmp.resolve("nope.json").toString(), "--out", out.toString()));
        assertTrue(err.toString().startsWith("dagmoe: ") && err.toString().contains("nope.json: config file not found"), err.toString());
        assertFalse(Files.exists(out));

        Path cfg = CliTestSupport.config(tmp, "sum", 4, "");
        err.setLength(0);
        assertEquals(2, run(err, "train", "--config", cfg.toString(), "--out", out.toString(), "--set", "model.agregator=dag"));
        assertTrue(err.toString().contains("unknown key model.agregator (did you mean model.aggregator?)"), err.toString());
        err.setLength(0);
        assertEquals(2, run(err, "train", "--config", cfg.toString(), "--out", out.toString(), "--set", "train.lr=-3"));
        assertTrue(err.toString().contains("train.lr = -3: must be > 0"), err.toString());
        err.setLength(0);
        assertEquals(2, run(err, "train", "--config", cfg.toString(), "--out", out.toString(), "--set", "data.path=" + tmp.resolve("missing.txt")));
        assertTrue(err.toString().contains("missing.txt"), err.toString());
        assertEquals(2, run(null, "train", "--config", cfg.toString(), "--out", out.toString(), "--bogus-option"));
        assertFalse(Files.exists(out), "no run folder after bad input");
        assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);

        // A non-empty --out is never overwritten without --resume.
        Files.createDirectories(out);
        Files.writeString(out.resolve("precious.txt"), "earlier results");
        err.setLength(0);
        assertEquals(2, run(err, "train", "--config", cfg.toString(), "--out", out.toString()));
        assertTrue(err.toString().contains("is not empty") && err.toString().contains("--resume"), err.toString());
        assertEquals(List.of(out.resolve("precious.txt")), Files.list(out).toList());
    }

    @Test
    void untilThenResumeEqualsAStraightRunBitForBit() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "dag", 20, "");
        Path a = tmp.resolve("straight"), b = tmp.resolve("split");
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", a.toString()));
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", b.toString(), "--until", "10"));
        assertEquals(List.of(5L, 10L), new Checkpoints(b).completeSteps());
        assertFalse(Files.exists(b.resolve("summary.json")));
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", b.toString(), "--resume"));
        assertIdentical(a, b);
        // A finished run cannot be "resumed" past its end without raising train.steps.
        assertEquals(2, run(null, "train", "--config", cfg.toString(), "--out", b.toString(), "--resume"));
    }

    static void assertIdentical(Path a, Path b) {
        List<Double> la = CliTestSupport.losses(a), lb = CliTestSupport.losses(b);
        assertEquals(20, la.size());
        assertEquals(la, lb);
        var ca = Checkpoints.load(new Checkpoints(a).latest().orElseThrow());
        var cb = Checkpoints.load(new Checkpoints(b).latest().orElseThrow());
        assertEquals(20, cb.step());
        for (String n : ca.model().keySet()) {
            assertArrayEquals(ca.model().get(n).data(), cb.model().get(n).data(), n);
        }
        for (String n : ca.optimizer().keySet()) {
            assertArrayEquals(ca.optimizer().get(n).data(), cb.optimizer().get(n).data(), n);
        }
    }
}
