package dagmoe.cli;

import dagmoe.train.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

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

    /** SIGKILL while a checkpoint is being written: resume continues from the last complete one, bit-exactly. */
    @Test
    void killDuringCheckpointWriteThenResume() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "dag", 20, "");
        Path a = tmp.resolve("straight"), b = tmp.resolve("killed");
        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", a.toString()));

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--add-modules", "jdk.incubator.vector",
                "-D" + Checkpoints.PAUSE_PROPERTY + "=10", "-cp", System.getProperty("java.class.path"),
                "dagmoe.cli.Main", "train", "--config", cfg.toString(), "--out", b.toString());
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
            String line;
            boolean paused = false;
            while ((line = r.readLine()) != null) {
                if (line.contains(Checkpoints.PAUSE_MARKER)) {
                    paused = true;
                    break;
                }
            }
            assertTrue(paused, "the child reached the checkpoint write of step 10");
            p.destroyForcibly();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        } finally {
            p.destroyForcibly();
        }
        // The half-written checkpoint is there, but only as a temporary folder; step 5 is the latest complete one.
        assertTrue(Files.exists(b.resolve("checkpoints").resolve(".tmp-" + Checkpoints.folderName(10))));
        assertEquals(List.of(5L), new Checkpoints(b).completeSteps());

        assertEquals(0, run(null, "train", "--config", cfg.toString(), "--out", b.toString(), "--resume"));
        assertIdentical(a, b);
        assertFalse(Files.exists(b.resolve("checkpoints").resolve(".tmp-" + Checkpoints.folderName(10))));
        assertTrue(Files.exists(b.resolve("plots").resolve("loss.png")));
        assertTrue(new File(b.resolve("summary.json").toString()).length() > 0);
    }
}
