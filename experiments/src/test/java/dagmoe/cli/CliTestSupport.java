package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.train.MetricsWriter;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** A tiny corpus and config for command-line tests (java backend, a few seconds per run). */
final class CliTestSupport {
    private CliTestSupport() {}

    static Path corpus(Path dir) throws IOException {
        String[] words = {"the", "whale", "sea", "ship", "captain", "white", "and", "of", "a", "to", "in", "deep",
                "harpoon", "sailor", "wind", "storm", "ocean", "boat", "crew", "hunt"};
        Random r = new Random(42);
        StringBuilder sb = new StringBuilder();
        for (int line = 0; line < 600; line++) {
            int n = 5 + r.nextInt(8);
            for (int i = 0; i < n; i++) sb.append(i == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            sb.append(".\n");
        }
        Path f = dir.resolve("corpus.txt");
        Files.writeString(f, sb.toString());
        return f;
    }

    static Path config(Path dir, String aggregator, int steps, String extra) throws IOException {
        Path corpus = corpus(dir);
        Path f = dir.resolve("tiny-" + aggregator + ".json");
        Files.writeString(f, """
                {"model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 8, "n_experts": 4, "top_k": 2,
                           "expert_hidden": 16, "aggregator": "%s", "dag": {"rounds": 1, "width": 8}},
                 "train": {"steps": %d, "batch_size": 2, "lr": 0.003, "min_lr": 0.0003, "warmup_steps": 2,
                           "eval_every": 5, "eval_batches": 2, "checkpoint_every": 5, "log_every": 1, "keep_checkpoints": 0},
                 "data": {"path": "%s"},
                 "backend": {"name": "java"}%s}""".formatted(aggregator, steps, corpus.toString().replace("\\", "/"), extra));
        return f;
    }

    /** Starts {@code dagmoe ARGS} in a child JVM with the given -D properties; stdout discarded, stderr readable. */
    static Process child(List<String> props, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector"));
        for (String p : props) cmd.add("-D" + p);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dagmoe.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        return pb.start();
    }

    /** Reads the child's stderr until {@code marker} appears; false when it ended without printing it. */
    static boolean awaitLine(Process p, String marker, StringBuilder seen) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = r.readLine()) != null) {
            if (seen != null) seen.append(line).append('\n');
            if (line.contains(marker)) return true;
        }
        return false;
    }

    /** SIGKILL (no shutdown hooks, no finally blocks) and wait. */
    static void kill(Process p) throws InterruptedException {
        p.destroyForcibly();
        if (!p.waitFor(30, TimeUnit.SECONDS)) throw new AssertionError("child did not die");
    }

    /** Everything the child printed on stderr (after it ended). */
    static String stderr(Process p) throws IOException, InterruptedException {
        String s = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return s;
    }

    /** The lines of a child's stderr that the program printed (without the JVM's incubator-module warning). */
    static List<String> messages(String stderr) {
        return stderr.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules")).toList();
    }

    static List<Double> losses(Path run) {
        List<Double> out = new ArrayList<>();
        for (JsonNode l : MetricsWriter.read(run)) if (l.path("kind").asText().equals("train")) out.add(l.get("loss").asDouble());
        return out;
    }

    /** Exit code and captured standard output and error of one in-process command line. */
    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
