package dagmoe.bench;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.model.Aggregator;
import dagmoe.model.Flops;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.ParamCounts;
import dagmoe.model.Parameter;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static dagmoe.stats.Quantiles.bootstrapMedianCi;
import static dagmoe.stats.Quantiles.median;
import static dagmoe.stats.Quantiles.quantile;

/**
 * Cost of each aggregator against {@code sum}: parameters, analytic extra forward FLOPs per token, and the
 * measured median training-step time (trainStep + clip + AdamW). Model: d 256, 4 layers, 4 heads, 8 experts
 * top-2, expert hidden 512, V 512, batch 16 × seq 128; aggregators sum, shared (matched), dag (L 2, g 64),
 * mlp-mix (g 64), chain (R 2). After warm-up every step of an aggregator is bracketed by two steps of sum, and
 * its overhead is the median over rounds of its time over the mean of those two: the speed of a shared
 * machine drifts over seconds, and the bracketing cancels that drift. Both the wall time and the process CPU time of each step are reported;
 * on a machine shared with other work the CPU time is the steadier measure. A second table times each aggregator's
 * own work apart ({@link #componentTable}): a few per cent of a step are below the step-to-step noise of a shared
 * machine, while the aggregator alone, alternated call by call with sum's, is measured to a fraction of a per cent.
 * <p>Usage: {@code AggregatorOverhead [backend=cpu] [threads=2] [rounds=5] [warmup=2] [profile] [nogatestats]};
 * with {@code profile} every Backend call is timed (wall clock, and CPU time of the calling and worker threads) and
 * per-op tables per aggregator are printed;
 * {@code nogatestats} switches off the dag's per-step edge-gate statistics ({@link Model#setGateStats}).
 * <p>FLOPs: {@link Flops} (matrix products only, so the dag's measured overhead can exceed its FLOP share).
 * Run by {@code dagmoe bench --suite aggregators}.
 */
public final class AggregatorOverhead {
    private AggregatorOverhead() {}

    static final int B = 16, S = 128;

    static ModelConfig config(Aggregator agg) {
        return ModelConfig.builder().set("vocab_size", 512).set("d_model", 256).set("n_layers", 4).set("n_heads", 4).set("seq_len", S).set("n_experts", 8).set("top_k", 2)
                .set("expert_hidden", 512).set("aggregator", agg).set("dag.rounds", 2).set("dag.width", 64).set("mlp_mix.width", 64).set("chain.rounds", 2)
                .set("shared.hidden", 0).build();
    }

    /** The model of the suite: {@code base} (any config's model, seq_len 128) or, when null, the default above. */
    private static ModelConfig base;

    /** Runs the suite on this model (its aggregator replaced by each in turn); null = the default model. */
    public static void setBase(ModelConfig model) {
        if (model != null) config(Aggregator.SUM, model); // checks seq_len
        base = model;
    }

    static ModelConfig config(Aggregator agg, ModelConfig from) {
        if (from == null) return config(agg);
        if (from.seqLen() != S) throw new IllegalArgumentException("--suite aggregators --config: model.seq_len = "
                + from.seqLen() + ": the suite runs batches of " + B + " x " + S + " tokens, so it must be " + S);
        return from.toBuilder().set("aggregator", agg).build();
    }

    public static void main(String[] args) {
        String backendName = args.length > 0 ? args[0] : "cpu";
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
        int warmup = args.length > 3 ? Integer.parseInt(args[3]) : 2;
        String device = args.length > 4 ? args[4] : "";
        List<String> flags = Arrays.asList(args).subList(Math.min(4, args.length), args.length);
        boolean profile = flags.contains("profile"), gateStats = !flags.contains("nogatestats");
        Backend raw = Backends.create(backendName, threads, device);
        opTimes.clear();
        Backend be = profile ? timed(raw, opTimes) : raw;
        List<ModelConfig> cfgs = new ArrayList<>();
        for (Aggregator a : new Aggregator[] {Aggregator.SUM, Aggregator.SHARED, Aggregator.DAG, Aggregator.MLP_MIX, Aggregator.CHAIN})
            cfgs.add(config(a, base));
        int n = cfgs.size();
        Model[] models = new Model[n];
        AdamW[] opts = new AdamW[n];
        for (int i = 0; i < n; i++) {
            models[i] = new Model(cfgs.get(i), be, 1);
            models[i].setGateStats(gateStats);
            opts[i] = new AdamW(models[i].parameters(), 0.9f, 0.95f, 1e-8f, 0.1f, be);
        }
        SplittableRandom r = new SplittableRandom(7);
        int[] in = new int[B * S], tg = new int[B * S];
        int V = cfgs.get(0).vocabSize();
        for (int t = 0; t < B * S; t++) { in[t] = r.nextInt(V); tg[t] = r.nextInt(V); }

        ModelConfig c0 = cfgs.get(0);
        System.out.printf("AggregatorOverhead: d %d, %d layers, %d experts top-%d, expert hidden %d, V %d, batch %d x seq %d, backend %s (%d threads), %d warm-up + %d rounds (each: sum, a1, sum, a2, sum, a3, sum, a4, sum), dag gate stats %s%n",
                c0.dModel(), c0.nLayers(), c0.nExperts(), c0.topK(), c0.expertHidden(), c0.vocabSize(),
                B, S, be.name(), be.threads(), warmup, rounds, gateStats ? "on" : "off");
        for (int w = 0; w < warmup; w++) for (int i = 0; i < n; i++) step(models[i], opts[i], in, tg);
        if (profile) workerThreads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("dagmoe-")).mapToLong(Thread::getId).toArray();
        // Each round: sum, a1, sum, a2, sum, a3, sum, a4, sum (the other aggregators' order rotates every round).
        // Aggregator a_i is compared with the mean of the two sum steps around it (baseline[i][k]): the machine's
        // speed drifts over seconds, and bracketing cancels the drift that a ratio of medians would keep.
        double[][] times = new double[n][rounds], cpu = new double[n][rounds];
        double[][] baseWall = new double[n][rounds], baseCpu = new double[n][rounds];
        List<Double> sumWall = new ArrayList<>(), sumCpu = new ArrayList<>();
        List<java.util.Map<String, long[]>> perAgg = new ArrayList<>();
        for (int i = 0; i < n; i++) perAgg.add(new java.util.TreeMap<>());
        double[] last = new double[2];
        for (int k = 0; k < rounds; k++) {
            last = timedStep(0, models, opts, in, tg, perAgg, sumWall, sumCpu);
            for (int j = 0; j < n - 1; j++) {
                int i = 1 + (j + k) % (n - 1);
                double[] before = last;
                double[] t = timedStep(i, models, opts, in, tg, perAgg, null, null);
                times[i][k] = t[0];
                cpu[i][k] = t[1];
                last = timedStep(0, models, opts, in, tg, perAgg, sumWall, sumCpu);
                baseWall[i][k] = 0.5 * (before[0] + last[0]);
                baseCpu[i][k] = 0.5 * (before[1] + last[1]);
            }
        }
        times[0] = sumWall.stream().mapToDouble(Double::doubleValue).toArray();
        cpu[0] = sumCpu.stream().mapToDouble(Double::doubleValue).toArray();
        int sumSteps = times[0].length;
        double baseFlops = Flops.forwardPerToken(cfgs.get(0), S);
        System.out.printf("%-15s %12s %12s %11s %14s %9s %10s %17s %18s %17s %18s%n", "aggregator", "params", "active", "agg params",
                "fwd FLOP/tok", "FLOP +%", "wall s", "wall +% [IQR]", "ratio [95% CI]", "cpu +% [IQR]", "ratio [95% CI]");
        for (int i = 0; i < n; i++) {
            ModelConfig c = cfgs.get(i);
            ParamCounts pc = models[i].paramCounts();
            double flopOver = Flops.forwardPerToken(c, S) / baseFlops - 1;
            double[] wall = i == 0 ? null : pairedOverheads(times[i], baseWall[i]);
            double[] cpuOver = i == 0 ? null : pairedOverheads(cpu[i], baseCpu[i]);
            String label = switch (c.aggregator()) {
                case SHARED -> "shared(dr=" + c.effectiveSharedHidden() + ")";
                case DAG -> "dag(L2,g64)";
                case MLP_MIX -> "mix(g64)";
                case CHAIN -> "chain(R2)";
                default -> c.aggregator().key();
            };
            System.out.printf("%-15s %,12d %,12d %,11d %,14.0f %8.2f%% %10.3f %17s %18s %17s %18s%n", label, pc.total(),
                    pc.active(), pc.aggregator(), Flops.forwardPerToken(c, S), 100 * flopOver, median(times[i]),
                    i == 0 ? "-" : percentWithIqr(wall), i == 0 ? "-" : ratioWithCi(wall, flopOver),
                    i == 0 ? "-" : percentWithIqr(cpuOver), i == 0 ? "-" : ratioWithCi(cpuOver, flopOver));
        }
        System.out.println("wall +% / cpu +%: median over rounds of (this aggregator's step / mean of the sum steps just before and "
                + "after it) - 1, [quartiles]; ratio = that median / FLOP +% (target <= 1.2), [95% bootstrap CI of the median]; "
                + "wall s: median step.");
        componentTable(cfgs, models, be, Math.max(40, 10 * rounds), median(times[0]), baseFlops);
        System.out.println("wall / process-cpu seconds per step, in round order (cpu time is robust to other processes on the machine):");
        for (int i = 0; i < n; i++)
            System.out.println("  " + cfgs.get(i).aggregator().key() + " wall " + Arrays.toString(round3(times[i])) + " cpu " + Arrays.toString(round3(cpu[i])));
        if (profile) {
            int[] steps = new int[n];
            steps[0] = sumSteps;
            for (int i = 1; i < n; i++) steps[i] = rounds;
            java.util.Set<String> ops = new java.util.TreeSet<>();
            for (var m : perAgg) ops.addAll(m.keySet());
            StringBuilder head = new StringBuilder(String.format("%-26s", "op"));
            for (ModelConfig c : cfgs) head.append(String.format("%18s", c.aggregator().key()));
            opTable("Backend op wall ms per step (calls per step), by aggregator:", head, ops, perAgg,
                    (v, k) -> String.format("%11.1f (%4d)", v[0] / 1e6 / steps[k], v[1] / steps[k]));
            opTable("Backend op CPU ms per step (the calling thread + the backend's worker threads), by aggregator:", head, ops,
                    perAgg, (v, k) -> String.format("%18.1f", v[2] / 1e6 / steps[k]));
        }
        raw.close();
    }

    /**
     * The aggregators' own work, timed apart (the step-time comparison above cannot resolve a few per cent on a
     * noisy machine): aggregateForward + aggregateBackward of one MoE block, alternated call by call with sum's on
     * the same shapes ({@code pairs} pairs, the order swapped every pair), and the per-tensor optimizer work on the
     * aggregator's parameters (gradient zeroing, clipping's sumSquares and scale, AdamW). Overhead = (MoE blocks ×
     * median paired difference + optimizer time) / sum's median step; the interval is a bootstrap over the pairs.
     * chain is left out: its extra work is whole routing rounds, which the step times above measure well.
     */
    static void componentTable(List<ModelConfig> cfgs, Model[] models, Backend be, int pairs, double sumStep, double baseFlops) {
        int T = B * S;
        Model.AggregatorPass base = models[0].aggregatorPass(0);
        int d = cfgs.get(0).dModel();
        SplittableRandom r = new SplittableRandom(11);
        float[] h = new float[T * d], x = new float[T * d], out = new float[T * d], dOut = new float[T * d];
        float[] dh = new float[T * d], dx = new float[T * d];
        for (int i = 0; i < T * d; i++) { h[i] = (float) r.nextGaussian(); x[i] = (float) r.nextGaussian(); dOut[i] = (float) (1e-3 * r.nextGaussian()); }
        be.hostWrote(h, x, dOut, dh, dx);
        System.out.printf("aggregator alone (one MoE block's aggregateForward + aggregateBackward vs sum's, %d alternated pairs; "
                + "optimizer work on its parameters), as %% of sum's median step %.3f s:%n", pairs, sumStep);
        System.out.printf("%-15s %12s %12s %12s %10s %9s %18s%n", "aggregator", "block ms", "vs sum ms", "optim ms", "step +%", "FLOP +%", "ratio [95% CI]");
        for (int i = 1; i < models.length; i++) {
            Model.AggregatorPass agg = models[i].aggregatorPass(0);
            if (agg == null) continue;
            int moeBlocks = cfgs.get(i).moeLayers();
            double[] diff = new double[pairs], own = new double[pairs];
            for (int k = -5; k < pairs; k++) {
                boolean aggFirst = (k & 1) == 1;
                double t1 = timeAggregator(aggFirst ? agg : base, h, x, out, dOut, dh, dx, T);
                double t2 = timeAggregator(aggFirst ? base : agg, h, x, out, dOut, dh, dx, T);
                if (k < 0) continue; // warm-up
                double tAgg = aggFirst ? t1 : t2, tSum = aggFirst ? t2 : t1;
                diff[k] = tAgg - tSum;
                own[k] = tAgg;
            }
            List<Parameter> ps = models[i].parametersOf("aggregator");
            double[] opt = new double[Math.max(5, pairs / 4)];
            float[][] m = new float[ps.size()][], v = new float[ps.size()][];
            for (int j = 0; j < ps.size(); j++) { m[j] = new float[ps.get(j).size()]; v[j] = new float[ps.get(j).size()]; }
            for (int k = -2; k < opt.length; k++) {
                long t0 = System.nanoTime();
                for (int j = 0; j < ps.size(); j++) {
                    Parameter p = ps.get(j);
                    be.fill(p.grad(), p.size(), 0f);
                    be.sumSquares(p.grad(), p.size());
                    be.scale(p.grad(), p.size(), 1f);
                    be.adamw(p.data(), p.grad(), m[j], v[j], p.size(), 0f, 0.9f, 0.95f, 1e-8f, 0f, 0.5f, 0.5f);
                }
                if (k >= 0) opt[k] = (System.nanoTime() - t0) / 1e9;
            }
            double med = median(diff), optMed = median(opt);
            double[] ci = bootstrapMedianCi(diff, 2000, 0.95);
            double over = (moeBlocks * med + optMed) / sumStep;
            double lo = (moeBlocks * ci[0] + optMed) / sumStep, hi = (moeBlocks * ci[1] + optMed) / sumStep;
            double flopOver = Flops.forwardPerToken(cfgs.get(i), S) / baseFlops - 1;
            System.out.printf("%-15s %12.2f %12.2f %12.2f %9.2f%% %8.2f%% %18s%n", cfgs.get(i).aggregator().key(), 1e3 * median(own),
                    1e3 * med, 1e3 * optMed, 100 * over, 100 * flopOver,
                    String.format("%.2f [%.2f,%.2f]", over / flopOver, lo / flopOver, hi / flopOver));
        }
    }

    private static double timeAggregator(Model.AggregatorPass agg, float[] h, float[] x, float[] out, float[] dOut,
                                         float[] dh, float[] dx, int T) {
        long t0 = System.nanoTime();
        agg.run(h, x, out, dOut, dh, dx, T);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** Per-call profile of the step being timed (filled by the {@code profile} proxy). */
    private static final java.util.Map<String, long[]> opTimes = new java.util.TreeMap<>();

    /** One row per op, one cell per aggregator k: cell(profile {wall ns, calls, cpu ns}, k). */
    private static void opTable(String title, CharSequence head, java.util.Set<String> ops, List<java.util.Map<String, long[]>> perAgg,
                                java.util.function.BiFunction<long[], Integer, String> cell) {
        System.out.println(title);
        System.out.println(head);
        for (String op : ops) {
            StringBuilder row = new StringBuilder(String.format("%-26s", op));
            for (int k = 0; k < perAgg.size(); k++) row.append(cell.apply(perAgg.get(k).getOrDefault(op, new long[3]), k));
            System.out.println(row);
        }
    }

    /** Ids of the backend's worker threads (named dagmoe-…), found after warm-up; their CPU time counts in the profile. */
    static volatile long[] workerThreads = new long[0];

    /** CPU time of the calling thread plus the worker threads (per-thread clocks: fine-grained, unlike the process clock). */
    static long threadsCpuNanos() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long s = mx.getCurrentThreadCpuTime();
        for (long id : workerThreads) s += Math.max(0, mx.getThreadCpuTime(id));
        return s;
    }

    /**
     * A Backend that adds each call's wall time, count and CPU time (calling thread + worker threads) to
     * times[method name] (for profiling; on a shared machine the CPU time is the steadier measure).
     */
    static Backend timed(Backend inner, java.util.Map<String, long[]> times) {
        return (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, margs) -> {
                    long t0 = System.nanoTime(), c0 = threadsCpuNanos();
                    try {
                        return method.invoke(inner, margs);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    } finally {
                        long c1 = threadsCpuNanos();
                        long[] v = times.computeIfAbsent(method.getName(), k -> new long[3]);
                        v[0] += System.nanoTime() - t0;
                        v[1]++;
                        v[2] += c1 - c0;
                    }
                });
    }

    /** CPU time of the whole process (all threads, GC and JIT included), or wall time where not available. */
    static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os)
            return os.getProcessCpuTime();
        return System.nanoTime();
    }

    /**
     * One timed training step of model i: {wall s, process-cpu s}; adds the profile of its backend calls to
     * perAgg[i] and, when given, appends the times to wallOut / cpuOut.
     */
    private static double[] timedStep(int i, Model[] models, AdamW[] opts, int[] in, int[] tg,
                                      List<java.util.Map<String, long[]>> perAgg, List<Double> wallOut, List<Double> cpuOut) {
        opTimes.clear();
        long c0 = processCpuNanos(), t0 = System.nanoTime();
        step(models[i], opts[i], in, tg);
        double wall = (System.nanoTime() - t0) / 1e9, cpuS = (processCpuNanos() - c0) / 1e9;
        for (var e : opTimes.entrySet())
            perAgg.get(i).merge(e.getKey(), e.getValue().clone(), (a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2]});
        if (wallOut != null) { wallOut.add(wall); cpuOut.add(cpuS); }
        return new double[] {wall, cpuS};
    }

    private static void step(Model m, AdamW opt, int[] in, int[] tg) {
        m.trainStep(in, tg, B, S);
        GradClip.clipGlobalNorm(m.parameters(), 1f, m.backend());
        opt.step(1e-4f);
    }

    /**
     * Overheads of a step over the base step paired by round (t[k] / base[k] - 1, k = round): {first quartile,
     * median, third quartile}. Rounds alternate the aggregators, so a slow phase of the machine hits both
     * steps of a pair; the median of the pairs is far steadier than a ratio of two medians.
     */
    static double[] pairedOverheads(double[] t, double[] base) {
        double[] r = new double[t.length];
        for (int k = 0; k < t.length; k++) r[k] = t[k] / base[k] - 1;
        double[] ci = bootstrapMedianCi(r, 2000, 0.95);
        return new double[] {quantile(r, 0.25), median(r), quantile(r, 0.75), ci[0], ci[1]};
    }

    private static String percentWithIqr(double[] q) {
        return String.format("%+.1f%% [%+.0f,%+.0f]", 100 * q[1], 100 * q[0], 100 * q[2]);
    }

    private static String ratioWithCi(double[] q, double flopOver) {
        return String.format("%.2f [%.2f,%.2f]", q[1] / flopOver, q[3] / flopOver, q[4] / flopOver);
    }

    private static double[] round3(double[] a) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) o[i] = Math.round(a[i] * 1000) / 1000.0;
        return o;
    }
}
