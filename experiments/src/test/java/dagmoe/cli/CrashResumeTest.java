package dagmoe.cli;

import dagmoe.io.CrashPoint;
import dagmoe.train.Checkpoints;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * SIGKILL a training run at many points (inside a checkpoint write, between its files and its rename, in the
 * middle of pruning, halfway through a metrics line) and resume: every time the resumed run must end
 * bit-identical to an uninterrupted one, with no leftover temporary or orphan folder; and two processes on
 * one run folder: the second is refused with exit code 2 naming the first.
 */
class CrashResumeTest {
    @TempDir static Path shared;
    @TempDir Path tmp;
    static Path cfg, straight;
    /** Keep two checkpoints, so the run prunes (step 5 goes when 15 is written). */
    static final String KEEP = "train.keep_checkpoints=2";

    @BeforeAll
    static void straightRun() throws Exception {
        cfg = CliTestSupport.config(shared, "dag", 20, "");
        straight = shared.resolve("straight");
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", straight.toString(), "--set", KEEP));
    }

    @ParameterizedTest
    @ValueSource(strings = {"checkpoint-model@10", "checkpoint-rename@10", "checkpoint-rename@20", "prune@5", "metrics@7"})
    void killedThereThenResumedIsBitIdentical(String point) throws Exception {
        Path run = tmp.resolve("killed");
        Process p = CliTestSupport.child(List.of(CrashPoint.PROPERTY + "=" + point), "train", "--config", cfg.toString(),
                "--out", run.toString(), "--set", KEEP);
        try {
            assertTrue(CliTestSupport.awaitLine(p, CrashPoint.MARKER + point, null), "the child reached " + point);
        } finally {
            CliTestSupport.kill(p);
        }
        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", run.toString(), "--resume",
                "--set", KEEP), err.toString());
        TrainCommandTest.assertIdentical(straight, run);
        assertEquals(List.of(15L, 20L), new Checkpoints(run).completeSteps());
        assertEquals(List.of(), leftovers(run), "no temporary or orphan remains after " + point);
        assertEquals(0, TrainCommandTest.run(null, "verify", run.toString()));
    }

    /** Everything in the run folder that is not a final file or a complete checkpoint. */
    static List<String> leftovers(Path run) throws Exception {
        List<String> odd = new ArrayList<>();
        try (Stream<Path> s = Files.walk(run)) {
            for (Path p : s.toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") && !n.equals(".lock")) odd.add(run.relativize(p).toString());
            }
        }
        Checkpoints ck = new Checkpoints(run);
        try (Stream<Path> s = Files.list(ck.dir())) {
            for (Path p : s.toList()) {
                if (!Files.isRegularFile(p.resolve(Checkpoints.CHECKSUMS_FILE))) odd.add(run.relativize(p).toString());
            }
        }
        return odd;
    }

    /** A second process on a run folder in use: exit 2 naming the holder; the first run finishes untouched. */
    @Test
    void secondWriterIsRefusedWhileTheFirstTrains() throws Exception {
        Path run = tmp.resolve("busy");
        Process first = CliTestSupport.child(List.of(CrashPoint.PROPERTY + "=checkpoint-model@10"), "train", "--config",
                cfg.toString(), "--out", run.toString());
        try {
            assertTrue(CliTestSupport.awaitLine(first, CrashPoint.MARKER, null));
            for (String[] args : new String[][]{
                    {"train", "--config", cfg.toString(), "--out", run.toString(), "--resume"},
                    {"train", "--config", cfg.toString(), "--out", run.toString()},
                    {"train", "--out", run.toString(), "--resume"}}) {
                StringBuilder err = new StringBuilder();
                assertEquals(2, TrainCommandTest.run(err, args), err.toString());
                assertTrue(err.toString().contains("run folder " + run + " is in use by process " + first.pid() + " since "), err.toString());
                assertEquals(1, err.toString().lines().count(), "one line: " + err);
            }
        } finally {
            CliTestSupport.kill(first);
        }
        // The killed first run resumes (its lock died with it).
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", run.toString(), "--resume"));
    }

    /** Two runs started at the same moment into one folder: exactly one trains, the other exits 2; the folder is consistent. */
    @Test
    void twoRunsStartedTogetherOneWins() throws Exception {
        Path run = tmp.resolve("race");
        Process a = CliTestSupport.child(List.of(), "train", "--config", cfg.toString(), "--out", run.toString(), "--set", "train.seed=1");
        Process b = CliTestSupport.child(List.of(), "train", "--config", cfg.toString(), "--out", run.toString(), "--set", "train.seed=2");
        String ea = CliTestSupport.stderr(a), eb = CliTestSupport.stderr(b);
        List<Integer> codes = new ArrayList<>(List.of(a.exitValue(), b.exitValue()));
        codes.sort(null);
        assertEquals(List.of(0, 2), codes, ea + "\n" + eb);
        String loser = a.exitValue() == 2 ? ea : eb;
        assertTrue(loser.contains("is in use by ") || loser.contains("is not empty"), loser);
        long seed = a.exitValue() == 0 ? 1 : 2;
        var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(run.resolve("summary.json").toFile());
        assertEquals(seed, summary.get("seed").asLong());
        assertEquals(seed, TrainCommand.savedConfig(run, List.of()).train().seed());
        assertEquals(seed, Checkpoints.load(new Checkpoints(run).latest().orElseThrow()).state().get("seed").asLong());
        assertEquals(20, CliTestSupport.losses(run).size(), "one run's metrics, no lost or doubled lines");
    }
}
