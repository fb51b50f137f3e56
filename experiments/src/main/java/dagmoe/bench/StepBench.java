package dagmoe.bench;

import dagmoe.backend.Backend;
import dagmoe.model.Flops;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import dagmoe.model.StepResult;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;
import dagmoe.optim.LrSchedule;
import dagmoe.stats.Quantiles;
import dagmoe.train.BatchSource;
import dagmoe.train.TrainConfig;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The whole training step of a model on one backend, as the trainer runs it: next batch, {@link Model#trainStep}
 * (forward and backward of the total loss), {@link GradClip#clipGlobalNorm} and {@link AdamW#step} at the
 * schedule's learning rate. First step on its own (it includes JIT and, on tornado, kernel compilation), then
 * {@code warmup} untimed steps, then {@code reps} timed steps: median, min, coefficient of variation, tokens/s
 * at the median (batch × seq tokens per step, the trainer's throughput definition).
 *
 * <p>GFLOP/s uses 3 × the forward matrix-product FLOPs ({@link Flops#forwardPerToken}: the
 * backward costs about twice the forward), so it is an estimate for comparing backends, not a hardware count.
 * On tornado the timed steps run as training runs them, without TornadoVM's profiler (its counts: executions,
 * launches, host waits, bytes); two more steps under the profiler give TornadoVM's split: compiles and compile ms
 * over the whole row (first step included), H2D/kernel/D2H ms per profiled step.
 */
public final class StepBench {
    private StepBench() {}

    /** Fills inputs[B·S] and targets[B·S] for training step {@code step}. */
    public interface Batches {
        void fill(int step, int[] inputs, int[] targets);

        /** PeerBench's synthetic tokens (splitmix64 of the position mod V): the same on every backend. */
        static Batches synthetic(long seed, int batch, int seq, int vocab) {
            return (step, in, tg) -> PeerBench.syntheticBatch(seed, step, batch, seq, vocab, in, tg);
        }

        /** A corpus or task batch source (steps in order). */
        static Batches of(BatchSource source) {
            return (step, in, tg) -> source.next(in, tg);
        }
    }

    /**
     * Runs 1 + warmup + reps training steps of a new {@code cfg} model on {@code be} and returns the row (suite
     * "step"). {@code be} is not closed.
     */
    public static BenchRow run(Backend be, ModelConfig cfg, TrainConfig tc, Batches batches, int warmup, int reps,
                               MachinePeak peak, Double javaMedianMs, PrintStream out) {
        return run(be, cfg, tc, batches, warmup, reps, peak, javaMedianMs, out, new java.util.ArrayList<>());
    }

    /** As above; on tornado appends the per-operation split of the timed steps (Markdown lines) to {@code notes}. */
    public static BenchRow run(Backend be, ModelConfig cfg, TrainConfig tc, Batches batches, int warmup, int reps,
                               MachinePeak peak, Double javaMedianMs, PrintStream out, List<String> notes) {
        int B = tc.batchSize(), S = cfg.seqLen();
        Model model = new Model(cfg, be, tc.seed());
        List<Parameter> params = model.parameters();
        AdamW opt = new AdamW(params, (float) tc.beta1(), (float) tc.beta2(), (float) tc.eps(), (float) tc.weightDecay(),
                tc.decayAll(), be);
        int[] inputs = new int[B * S], targets = new int[B * S];
        boolean device = be.name().equals("tornado");
        // tornado: the timed steps run without TornadoVM's profiler, as training does (it waits for every event it
        // times); a few more steps under it give the compile, transfer and kernel split
        int profiledReps = device ? Math.min(2, reps) : 0;
        int total = 1 + warmup + reps + profiledReps;
        double[] loss = new double[total];
        int[] step = {0};
        // As the trainer: a backend that records operations gets the step's reads at its end (one wait).
        model.setDeferredStats(be.defersReads());
        double[] norm = new double[1];
        Runnable action = () -> {
            int s = step[0]++;
            batches.fill(s, inputs, targets);
            double lr = LrSchedule.at(s, tc.warmupSteps(), Math.max(total, tc.steps()), tc.lr(), tc.minLr());
            StepResult r = model.trainStep(inputs, targets, B, S);
            GradClip.clipGlobalNorm(params, (float) tc.gradClip(), be, norm);
            loss[s] = model.readStep(r, norm).totalLoss();
            opt.step((float) lr);
        };
        TornadoSplit.reset(be);
        double firstMs = timeMs(action);
        Map<String, Double> first = TornadoSplit.totals(be);
        TornadoSplit.reset(be);
        for (int i = 0; i < warmup; i++) {
            action.run();
        }
        Map<String, Double> warm = TornadoSplit.totals(be);
        TornadoSplit.reset(be);
        be.setProfiling(false);
        double[] samples = new double[reps];
        long cpu0 = Measurement.processCpuNanos();
        long wall0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            samples[i] = timeMs(action);
        }
        double busy = Measurement.busy(cpu0, wall0);
        Map<String, Long> timedCounts = TornadoSplit.counts(be);
        Map<String, Double> timedFirst = TornadoSplit.totals(be);
        be.setProfiling(true);
        TornadoSplit.reset(be);
        double[] profiledMs = new double[profiledReps];
        for (int i = 0; i < profiledReps; i++) {
            profiledMs[i] = timeMs(action);
        }
        Map<String, Double> timed = TornadoSplit.totals(be);
        Map<String, Map<String, Double>> timedByOp = TornadoSplit.byOp(be);
        Map<String, Long> profiledCounts = TornadoSplit.counts(be);
        Measurement m = Measurement.of(firstMs, warmup, samples, busy);

        double flops = 3 * Flops.forwardPerToken(cfg, S) * B * S;
        String op = "trainStep " + cfg.aggregator().name().toLowerCase(Locale.ROOT).replace('_', '-');
        String shape = String.format(Locale.ROOT, "B%d S%d d%d L%d N%d K%d de%d V%d", B, S, cfg.dModel(), cfg.nLayers(),
                cfg.nExperts(), cfg.topK(), cfg.expertHidden(), cfg.vocabSize());
        Double vsJava = javaMedianMs != null && !be.name().equals("java") ? javaMedianMs / m.medianMs : null;
        BenchRow row = BenchRow.of("step", op, shape, be.name(), be.threads(), flops, m, peak.peakGflops, vsJava)
                .withTokensPerSecond(B * S / (m.medianMs / 1000));
        if (timed != null) {
            // compile time and count over every step of the row; transfers and kernels per profiled step
            row = row.withDeviceSplit(timed, profiledReps);
            double compiles = first.get("compiles") + warm.get("compiles") + timedFirst.get("compiles") + timed.get("compiles");
            double compileMs = first.get("compile_ms") + warm.get("compile_ms") + timed.get("compile_ms");
            row = row.withCompiles(compiles, compileMs).withCounts(timedCounts, reps, TornadoSplit.launchCostMs(be));
        }
        double lastLoss = loss[total - 1];
        out.printf(Locale.ROOT, "  %s on %s: loss %.4f -> %.4f over %d steps%s%n", op, be.name(), loss[0], lastLoss, total,
                Double.isFinite(lastLoss) ? "" : "  (WARNING: non-finite loss)");
        if (timed != null) {
            // plans compiled after the first step (new size buckets of the per-expert products) inflate those steps
            out.printf(Locale.ROOT, "  %s on tornado: plans compiled in the first step %.0f (%.0f ms), warm-up %.0f (%.0f ms),"
                            + " timed steps %.0f; under TornadoVM's profiler (%d more steps, median %.1f ms: it waits for every"
                            + " kernel and transfer it times, %.0f host waits per step) per step H2D %.2f ms (%.0f B, and %.0f B of"
                            + " TornadoVM's per-launch argument frames), kernels %.2f ms, D2H %.2f ms (%.0f B), device-call wall %.1f ms%n",
                    op, first.get("compiles"), first.get("compile_ms"), warm.get("compiles"), warm.get("compile_ms"),
                    timedFirst.get("compiles") + timed.get("compiles"), profiledReps, Quantiles.median(profiledMs),
                    profiledCounts.get("syncs") / (double) profiledReps, timed.get("h2d_ms") / profiledReps,
                    timed.getOrDefault("bytes_in", 0.0) / profiledReps, profiledCounts.get("frame_bytes") / (double) profiledReps,
                    timed.get("kernel_ms") / profiledReps, timed.get("d2h_ms") / profiledReps,
                    timed.getOrDefault("bytes_out", 0.0) / profiledReps, timed.get("wall_ms") / profiledReps);
            out.printf(Locale.ROOT, "  %s on tornado: per timed step %.0f plan executions, %.0f kernel launches, %.0f host waits,"
                            + " H2D %.0f B in %.0f transfers, D2H %.0f B in %.0f transfers; one execution costs %.3f ms (median of"
                            + " a one-element kernel), so launches alone need >= %.1f ms = %.0f%% of the %.1f ms median step%n", op,
                    row.executionsPerStep(), row.launchesPerStep(), row.syncsPerStep(), row.h2dBytesPerStep(),
                    timedCounts.get("h2d_count") / (double) reps, row.d2hBytesPerStep(), timedCounts.get("d2h_count") / (double) reps,
                    row.launchCostMs(), row.launchFloorMs(), 100 * row.launchFloorShare(), row.medianMs());
            notes.addAll(opSplit(op, timedByOp, profiledReps, 12));
            notes.forEach(out::println);
        }
        return row;
    }

    /** The {@code top} operations by device-call wall time per profiled step, as a Markdown table. */
    static List<String> opSplit(String op, Map<String, Map<String, Double>> byOp, int reps, int top) {
        List<String> lines = new java.util.ArrayList<>();
        lines.add("");
        lines.add("tornado, " + op + ": the " + top + " operations with the most device-call wall time per profiled step"
                + " (TornadoVM profiler; wall = the host's time in the call: staging, dispatch, transfers, kernel):");
        lines.add("");
        lines.add("| operation | calls/step | wall ms/step | kernel ms/step | H2D ms/step | D2H ms/step |");
        lines.add("|---|---:|---:|---:|---:|---:|");
        byOp.entrySet().stream().filter(e -> !e.getKey().equals("total"))
                .sorted((a, b) -> Double.compare(b.getValue().get("wall_ms"), a.getValue().get("wall_ms")))
                .limit(top)
                .forEach(e -> lines.add(String.format(Locale.ROOT, "| %s | %.1f | %.2f | %.2f | %.3f | %.3f |", e.getKey(),
                        e.getValue().get("calls") / reps, e.getValue().get("wall_ms") / reps, e.getValue().get("kernel_ms") / reps,
                        e.getValue().get("h2d_ms") / reps, e.getValue().get("d2h_ms") / reps)));
        return lines;
    }

    private static double timeMs(Runnable action) {
        long t0 = System.nanoTime();
        action.run();
        return (System.nanoTime() - t0) / 1e6;
    }
}
