package dagmoe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.RunConfig;
import dagmoe.io.AtomicWrite;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;
import dagmoe.optim.LrSchedule;
import dagmoe.train.TrainConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code dagmoe bench --peer torch}: trains the same config for the same number of steps with dagmoe's
 * {@code cpu} backend (in this process) and with the PyTorch reference (experiments/reference/peer_bench.py
 * in a {@code /usr/bin/python3} subprocess), alternating the two, at the same thread count, for each
 * aggregator; prints tokens/s of each and the ratio dagmoe/torch, and which BLAS PyTorch used.
 *
 * <p>Both sides: the model of the config (the aggregator overridden), AdamW with decoupled decay on the
 * matrices, global-norm clipping, warm-up + cosine schedule, and the same synthetic tokens: position j of
 * batch b at step s is splitmix64(seed + (s·B + b)·(S+1) + j) mod V (inputs the first S, targets the last S).
 * Untimed warm-up steps come first on both sides (JIT, allocation, OpenMP start-up). The ratio uses each
 * side's best round (the machine is shared; the best is the least disturbed); every round is printed.
 * When dagmoe is slower, a per-operation profile of its steps shows where the time goes.
 *
 * <p>The torch side is peer_model.FastModel (experiments/reference/peer_model.py: flat parameter and gradient
 * buffers, fused projections, one-sort dispatch with each expert on its contiguous rows, foreach AdamW);
 * {@code -Ddagmoe.peer.impl=ref} races the plain reference instead, {@code -Ddagmoe.peer.dispatch=padded} the
 * bmm-over-padded-experts dispatch. Each side runs in its own process (the dagmoe side in a child JVM with this
 * JVM's options), so each round also reports that process's peak resident memory (VmHWM).
 */
public final class PeerBench {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PeerBench() {}

    /** What to run; defaults are those of the peer-ref comparison. */
    public static final class Options {
        public Path config;
        public List<String> sets = List.of();
        public List<String> aggregators = List.of("sum", "dag");
        /** Timed steps per run; null = train.steps of the config. */
        public Integer steps;
        public int warmup = 3;
        public int threads = 2;
        public int rounds = 2;
        public String python = "/usr/bin/python3";
        /** peer_bench.py; null = found next to the build (experiments/reference). */
        public Path script;
        /** Print the per-operation profile even when dagmoe is faster (also: -Ddagmoe.peer.profile=true). */
        public boolean profile = Boolean.getBoolean("dagmoe.peer.profile");
        /** peer_bench.py --impl: fast (peer_model.FastModel) or ref (dagmoe_ref). */
        public String torchImpl = System.getProperty("dagmoe.peer.impl", "fast");
        /** peer_bench.py --dispatch: sorted (contiguous per-expert rows) or padded (bmm over padded experts). */
        public String torchDispatch = System.getProperty("dagmoe.peer.dispatch", "sorted");
    }

    /** One aggregator's result: best tokens/s of each side and every round's value. */
    public record Row(String aggregator, double dagmoeTokensPerSecond, double torchTokensPerSecond,
                      double[] dagmoeRounds, double[] torchRounds, JsonNode torchBlas,
                      double dagmoePeakRssMib, double torchPeakRssMib) {
        public double ratio() { return dagmoeTokensPerSecond / torchTokensPerSecond; }
    }

    public static List<Row> run(Options o, PrintStream out) {
        if (o.config == null) throw new IllegalArgumentException("--config is required with --peer torch");
        if (o.threads < 1) throw new IllegalArgumentException("--threads = " + o.threads + ": must be >= 1");
        if (o.rounds < 1) throw new IllegalArgumentException("--rounds = " + o.rounds + ": must be >= 1");
        if (o.warmup < 0) throw new IllegalArgumentException("--warmup-steps = " + o.warmup + ": must be >= 0");
        RunConfig rc = RunConfig.load(o.config, o.sets);
        TrainConfig tc = rc.train();
        int steps = o.steps != null ? o.steps : tc.steps();
        if (steps < 1) throw new IllegalArgumentException("--steps = " + steps + ": must be >= 1");
        Path script = o.script != null ? o.script : findScript();
        if (!Files.isRegularFile(script)) throw new IllegalArgumentException("peer script not found: " + script);
        if (!Files.isExecutable(Path.of(o.python)))
            throw new IllegalArgumentException(o.python + " not found: the PyTorch peer needs Debian's python3-torch");

        // the torch side reads the resolved config (file + --set overrides), so both sides train the same thing
        Path resolved;
        try {
            resolved = Files.createTempFile("dagmoe-peer-", ".json");
            resolved.toFile().deleteOnExit();
            AtomicWrite.writeString(resolved, rc.toPrettyJson());
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the resolved config for the peer: " + e.getMessage(), e);
        }
        ModelConfig base = rc.model();
        int B = tc.batchSize(), S = base.seqLen();
        out.printf(Locale.ROOT, "# dagmoe bench --peer torch --config %s%n", o.config);
        out.printf(Locale.ROOT, "model: d %d, %d layers, %d heads, seq %d, batch %d, vocab %d, top-%d of %d experts, hidden %d;"
                        + " dag L %d g %d; %d timed steps after %d warm-up, %d threads each side, %d rounds, alternating%n",
                base.dModel(), base.nLayers(), base.nHeads(), S, B, base.vocabSize(), base.topK(), base.nExperts(),
                base.expertHidden(), base.dagRounds(), base.dagWidth(), steps, o.warmup, o.threads, o.rounds);

        List<Row> rows = new ArrayList<>();
        for (String agg : o.aggregators) {
            ModelConfig cfg = base.toBuilder().set("aggregator", agg).build();
            double[] mine = new double[o.rounds], theirs = new double[o.rounds];
            double myRss = 0, theirRss = 0;
            JsonNode blas = null;
            for (int r = 0; r < o.rounds; r++) {
                JsonNode d = runDagmoeChild(resolved, agg, steps, o.warmup, o.threads);
                mine[r] = d.get("tokens_per_second").asDouble();
                myRss = Math.max(myRss, d.get("peak_rss_kib").asDouble() / 1024);
                out.printf(Locale.ROOT, "  round %d %-8s dagmoe cpu: %9.1f tokens/s  (%.2f s, loss %.4f -> %.4f, peak RSS %.0f MiB)%n",
                        r + 1, agg, mine[r], d.get("seconds").asDouble(), d.get("first_loss").asDouble(),
                        d.get("last_loss").asDouble(), d.get("peak_rss_kib").asDouble() / 1024);
                JsonNode t = runTorch(o, script, resolved, agg, steps);
                theirs[r] = t.get("tokens_per_second").asDouble();
                theirRss = Math.max(theirRss, t.path("peak_rss_kib").asDouble() / 1024);
                blas = t.get("blas");
                out.printf(Locale.ROOT, "  round %d %-8s torch     : %9.1f tokens/s  (%.2f s, loss %.4f -> %.4f, peak RSS %.0f MiB)%n",
                        r + 1, agg, theirs[r], t.get("seconds").asDouble(), t.get("first_loss").asDouble(),
                        t.get("last_loss").asDouble(), t.path("peak_rss_kib").asDouble() / 1024);
            }
            Row row = new Row(agg, Arrays.stream(mine).max().orElse(0), Arrays.stream(theirs).max().orElse(0),
                    mine, theirs, blas, myRss, theirRss);
            rows.add(row);
            if (row.ratio() < 1.0 || o.profile) {
                out.printf(Locale.ROOT, "%n  %s: dagmoe/torch = %.3f; per-operation profile of 2 dagmoe steps (cpu, %d threads):%n",
                        agg, row.ratio(), o.threads);
                runDagmoe(cfg, tc, 2, Math.max(1, o.warmup), o.threads, out);
            }
            out.println();
        }

        out.println("| aggregator | dagmoe cpu tokens/s | torch tokens/s | ratio dagmoe/torch | dagmoe peak RSS MiB | torch peak RSS MiB |");
        out.println("|---|---:|---:|---:|---:|---:|");
        for (Row r : rows)
            out.printf(Locale.ROOT, "| %s | %.0f | %.0f | %.3f | %.0f | %.0f |%n", r.aggregator, r.dagmoeTokensPerSecond,
                    r.torchTokensPerSecond, r.ratio(), r.dagmoePeakRssMib, r.torchPeakRssMib);
        JsonNode blas = rows.isEmpty() ? null : rows.get(rows.size() - 1).torchBlas;
        out.println("torch side: peer_bench.py --impl " + o.torchImpl + ("fast".equals(o.torchImpl) ? " --dispatch " + o.torchDispatch : "")
                + "; peak RSS = the process's VmHWM over its whole run (model, warm-up and timed steps)");
        if (blas != null) out.println("torch: " + describeBlas(blas));
        out.println("(best of " + o.rounds + " rounds each; the machine may be shared with other work: compare the"
                + " ratio within one run, not absolute numbers across runs)");
        return rows;
    }

    static String describeBlas(JsonNode b) {
        return String.format(Locale.ROOT, "%s, BLAS %s, OpenBLAS core %s, OPENBLAS_CORETYPE=%s, OMP_WAIT_POLICY=%s, %d threads, CPU capability %s",
                "torch " + b.path("torch_version").asText(), b.path("libraries").toString(),
                b.path("openblas_core").asText("?"), b.path("openblas_coretype_env").asText(""),
                b.path("omp_wait_policy").asText(""),
                b.path("torch_threads").asInt(), b.path("torch_cpu_capability").asText());
    }

    /** Writes rows {aggregator, dagmoe_tokens_per_second, torch_tokens_per_second, ratio, ...}. */
    public static void writeJson(Path file, List<Row> rows) throws IOException {
        ArrayNode arr = JSON.createArrayNode();
        for (Row r : rows) {
            ObjectNode n = arr.addObject();
            n.put("aggregator", r.aggregator);
            n.put("dagmoe_tokens_per_second", r.dagmoeTokensPerSecond);
            n.put("torch_tokens_per_second", r.torchTokensPerSecond);
            n.put("ratio", r.ratio());
            n.put("dagmoe_peak_rss_mib", r.dagmoePeakRssMib);
            n.put("torch_peak_rss_mib", r.torchPeakRssMib);
            ArrayNode a = n.putArray("dagmoe_rounds");
            for (double v : r.dagmoeRounds) a.add(v);
            ArrayNode b = n.putArray("torch_rounds");
            for (double v : r.torchRounds) b.add(v);
            if (r.torchBlas != null) n.set("torch_blas", r.torchBlas);
        }
        AtomicWrite.writeBytes(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(arr));
    }

    // ---------------------------------------------------------------- dagmoe side

    record Result(double tokensPerSecond, double seconds, double firstLoss, double lastLoss) {}

    /** Trains warmup + steps steps on the cpu backend; with {@code profile} non-null, prints the op profile of the timed steps. */
    static Result runDagmoe(ModelConfig cfg, TrainConfig tc, int steps, int warmup, int threads, PrintStream profile) {
        int B = tc.batchSize(), S = cfg.seqLen();
        Backend cpu = Backends.create("cpu", threads);
        PeerBenchTimingBackend timed = profile != null ? new PeerBenchTimingBackend(cpu) : null;
        try (Backend be = timed != null ? timed.backend() : cpu) {
            Model model = new Model(cfg, be, tc.seed());
            List<Parameter> params = model.parameters();
            AdamW opt = new AdamW(params, (float) tc.beta1(), (float) tc.beta2(), (float) tc.eps(),
                    (float) tc.weightDecay(), tc.decayAll(), be);
            int[] inputs = new int[B * S], targets = new int[B * S];
            int total = warmup + steps;
            long t0 = 0;
            double first = Double.NaN, last = Double.NaN;
            for (int step = 0; step < total; step++) {
                if (step == warmup) {
                    t0 = System.nanoTime();
                    if (timed != null) timed.reset();
                }
                syntheticBatch(tc.seed(), step, B, S, cfg.vocabSize(), inputs, targets);
                double lr = LrSchedule.at(step, tc.warmupSteps(), total, tc.lr(), tc.minLr());
                double loss = model.trainStep(inputs, targets, B, S).totalLoss();
                GradClip.clipGlobalNorm(params, (float) tc.gradClip(), be);
                opt.step((float) lr);
                if (step == 0) first = loss;
                last = loss;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            if (timed != null) timed.print(profile, secs, steps);
            return new Result((double) steps * B * S / secs, secs, first, last);
        }
    }

    /**
     * Runs {@link #runDagmoe} in a child JVM (this JVM's options and class path) on the resolved config with the
     * aggregator overridden, so that its peak resident memory is the training's own; returns the child's JSON line.
     */
    static JsonNode runDagmoeChild(Path config, String agg, int steps, int warmup, int threads) {
        String javaCmd = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>();
        cmd.add(javaCmd);
        cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PeerBench.class.getName(), config.toString(), agg,
                Integer.toString(steps), Integer.toString(warmup), Integer.toString(threads)));
        return runJsonProcess(new ProcessBuilder(cmd).redirectErrorStream(true), "the dagmoe child run");
    }

    /** Child entry point: CONFIG AGGREGATOR STEPS WARMUP THREADS; prints one JSON line. */
    public static void main(String[] args) {
        long before = memoryKib("VmRSS");
        RunConfig rc = RunConfig.load(Path.of(args[0]), List.of());
        ModelConfig cfg = rc.model().toBuilder().set("aggregator", args[1]).build();
        Result d = runDagmoe(cfg, rc.train(), Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]), null);
        ObjectNode n = JSON.createObjectNode();
        n.put("tokens_per_second", d.tokensPerSecond).put("seconds", d.seconds).put("first_loss", d.firstLoss)
                .put("last_loss", d.lastLoss).put("peak_rss_kib", memoryKib("VmHWM")).put("rss_before_model_kib", before);
        System.out.println(n);
    }

    /** A field of /proc/self/status in KiB (VmRSS, VmHWM); -1 where not readable. */
    static long memoryKib(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field + ":")) return Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** The shared synthetic data (same formula as peer_bench.py): splitmix64 of the global position, mod V. */
    static void syntheticBatch(long seed, int step, int B, int S, int V, int[] inputs, int[] targets) {
        long base = seed + (long) step * B * (S + 1);
        for (int b = 0; b < B; b++)
            for (int j = 0; j <= S; j++) {
                int tok = (int) Long.remainderUnsigned(mix64(base + (long) b * (S + 1) + j), V);
                if (j < S) inputs[b * S + j] = tok;
                if (j > 0) targets[b * S + j - 1] = tok;
            }
    }

    /** java.util.SplittableRandom's first output for a state x: the splitmix64 finaliser of x + golden gamma. */
    static long mix64(long x) {
        long z = x + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // ---------------------------------------------------------------- torch side

    static JsonNode runTorch(Options o, Path script, Path config, String agg, int steps) {
        List<String> cmd = List.of(o.python, script.toString(), "--config", config.toString(), "--aggregator", agg,
                "--steps", Integer.toString(steps), "--warmup", Integer.toString(o.warmup),
                "--threads", Integer.toString(o.threads), "--impl", o.torchImpl, "--dispatch", o.torchDispatch);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(o.threads)); // OPENBLAS_CORETYPE left as it is
        // OpenMP's default spin-waiting collapses on a shared machine (measured here under load: 62 tokens/s
        // spinning, 993 passive); passive waiting is what a fair peer runs with. A user setting wins.
        pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        return runJsonProcess(pb, "peer_bench.py");
    }

    /** Runs a process that ends by printing one JSON line; its output is reported when it fails. */
    static JsonNode runJsonProcess(ProcessBuilder pb, String what) {
        try {
            Process p = pb.start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(what + " did not finish in 30 minutes");
            }
            if (p.exitValue() != 0)
                throw new IllegalStateException(what + " failed (exit " + p.exitValue() + "):\n" + text);
            String[] lines = text.strip().split("\n");
            return JSON.readTree(lines[lines.length - 1]);
        } catch (IOException e) {
            throw new IllegalStateException("could not run " + pb.command() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + what, e);
        }
    }

    /** experiments/reference/peer_bench.py: from the working directory, else next to the build folder. */
    static Path findScript() {
        Path rel = Path.of("experiments", "reference", "peer_bench.py");
        if (Files.isRegularFile(rel)) return rel.toAbsolutePath();
        try {
            Path classes = Path.of(PeerBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // experiments/<build>/classes -> experiments/reference/peer_bench.py
            Path p = classes.getParent().getParent().resolve("reference").resolve("peer_bench.py");
            if (Files.isRegularFile(p)) return p;
        } catch (Exception ignored) {
            // fall through to the relative path, reported as not found
        }
        return rel.toAbsolutePath();
    }
}
