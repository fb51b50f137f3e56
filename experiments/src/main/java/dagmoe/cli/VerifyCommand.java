package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.data.Tokenizer;
import dagmoe.data.Tokenizers;
import dagmoe.io.RunLock;
import dagmoe.train.Checkpoints;
import dagmoe.train.MetricsWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code dagmoe verify RUN_DIR}: checks a run folder (or every run folder below a compare folder) without
 * changing it: config.json, tokenizer.json, summary.json, every line of metrics.jsonl, and every checkpoint's
 * file sizes, file checksums and per-tensor checksums; leftovers of interrupted writes are listed.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check a run folder (or every run below a compare folder): config, tokenizer, summary, metrics lines,",
                "and every checkpoint's file and per-tensor CRC32C checksums. Changes nothing."},
        footer = {"", "Exit codes: 0 everything intact, 2 damage found (one line per problem) or no run folder."})
public final class VerifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "RUN_DIR", description = "a run folder, or a folder holding run folders (compare, suite)")
    Path dir;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (!Files.isDirectory(dir)) throw new CliSupport.BadInput(dir + ": no such folder");
            List<Path> runs = runsBelow(dir);
            if (runs.isEmpty()) throw new CliSupport.BadInput(dir + ": not a run folder (no config.json in it or below it)");
            int problems = 0;
            for (Path run : runs) problems += verifyRun(run);
            if (problems > 0) {
                System.err.println("dagmoe: verify: " + problems + " problem(s) in " + dir);
                return CliSupport.BAD_INPUT;
            }
            System.out.println("verify: " + runs.size() + " run(s) in " + dir + " intact");
            return CliSupport.OK;
        });
    }

    static List<Path> runsBelow(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("config.json"))) return List.of(dir);
        try (Stream<Path> s = Files.walk(dir, 4)) {
            return s.filter(p -> Files.isRegularFile(p.resolve("config.json")) && !p.toString().contains("checkpoints"))
                    .sorted().toList();
        }
    }

    /** Prints one line per item of a run; returns the number of problems. */
    static int verifyRun(Path run) throws IOException {
        List<String> bad = new ArrayList<>();
        check(run, "config.json", bad, () -> TrainCommand.savedConfig(run, List.of()));
        if (Files.exists(run.resolve(Tokenizer.FILE_NAME))) check(run, Tokenizer.FILE_NAME, bad, () -> Tokenizers.load(run));
        if (Files.exists(run.resolve("summary.json"))) check(run, "summary.json", bad, () -> JSON.readTree(run.resolve("summary.json").toFile()));
        Path metrics = run.resolve(MetricsWriter.FILE);
        if (Files.exists(metrics)) {
            check(run, MetricsWriter.FILE, bad, () -> {
                List<String> lines = Files.readAllLines(metrics, StandardCharsets.UTF_8);
                for (int i = 0; i < lines.size(); i++) {
                    if (lines.get(i).isBlank()) continue;
                    try {
                        JSON.readTree(lines.get(i));
                    } catch (IOException e) {
                        if (i == lines.size() - 1) {
                            return lines.size() + " lines, the last one cut by a crash (dropped by the next --resume)";
                        }
                        throw new IllegalStateException("line " + (i + 1) + " is not valid JSON");
                    }
                }
                return lines.size() + " lines";
            });
        }
        Checkpoints ck = new Checkpoints(run);
        if (Files.isDirectory(ck.dir())) {
            try (Stream<Path> s = Files.list(ck.dir())) {
                for (Path p : s.sorted().toList()) {
                    String n = p.getFileName().toString();
                    if (n.startsWith(".")) {
                        System.out.println(run + ": checkpoints/" + n + ": leftover of an interrupted write (removed by the next --resume)");
                        continue;
                    }
                    check(run, "checkpoints/" + n, bad, () -> {
                        Checkpoints.Loaded l = Checkpoints.load(p);
                        boolean summed = Files.isRegularFile(p.resolve(Checkpoints.CHECKSUMS_FILE));
                        return "step " + l.step() + ", " + (l.model().size() + l.optimizer().size()) + " tensors"
                                + (summed ? ", checksums match" : ", no checksums (older format)");
                    });
                }
            }
        }
        try (Stream<Path> s = Files.list(run)) {
            for (Path p : s.sorted().toList()) {
                String n = p.getFileName().toString();
                if (n.matches("\\..+\\.tmp-\\d+-\\d+")) {
                    System.out.println(run + ": " + n + ": leftover of an interrupted write (removed by the next --resume)");
                }
            }
        }
        String holder = RunLock.heldBy(run);
        if (holder != null) System.out.println(run + ": in use by " + holder + " (files may change while verified)");
        for (String b : bad) System.out.println(b);
        return bad.size();
    }

    private interface Check {
        Object run() throws Exception;
    }

    private static void check(Path run, String item, List<String> bad, Check c) {
        try {
            Object what = c.run();
            System.out.println(run + ": " + item + ": ok" + (what instanceof String s ? " (" + s + ")" : ""));
        } catch (Exception e) {
            bad.add(run + ": " + item + ": DAMAGED: " + e.getMessage());
        }
    }
}
