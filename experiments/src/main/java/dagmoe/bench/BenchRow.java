package dagmoe.bench;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/** One measured (operation, shape, backend): a row of the printed table and of the --json array. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BenchRow(
        @JsonProperty("suite") String suite,
        @JsonProperty("op") String op,
        @JsonProperty("shape") String shape,
        @JsonProperty("backend") String backend,
        @JsonProperty("threads") int threads,
        @JsonProperty("reps") int reps,
        @JsonProperty("warmups") int warmups,
        @JsonProperty("first_ms") double firstMs,
        @JsonProperty("median_ms") double medianMs,
        @JsonProperty("min_ms") double minMs,
        @JsonProperty("mean_ms") double meanMs,
        @JsonProperty("cv") double cv,
        @JsonProperty("flops") double flops,
        @JsonProperty("gflops") double gflops,
        @JsonProperty("best_gflops") double bestGflops,
        @JsonProperty("peak_gflops") double peakGflops,
        @JsonProperty("peak_share") double peakShare,
        /** JVM CPU time / wall time during the timed reps: cores actually kept busy (the machine may be shared). */
        @JsonProperty("busy_cores") double busyCores,
        /** java median / this backend's median, for rows other than java when java was measured. */
        @JsonProperty("speedup_vs_java") Double speedupVsJava,
        /** Tokens per second at the median time (training-step rows). */
        @JsonProperty("tokens_per_second") Double tokensPerSecond,
        /** tornado: plans compiled and their compile time, over every execution of the row (first included). */
        @JsonProperty("compiles") Double compiles,
        @JsonProperty("compile_ms") Double compileMs,
        /** tornado: host-to-device, kernel and device-to-host ms per repetition (TornadoVM's profiler). */
        @JsonProperty("h2d_ms") Double h2dMs,
        @JsonProperty("kernel_ms") Double kernelMs,
        @JsonProperty("d2h_ms") Double d2hMs,
        /** tornado training steps: per timed step, plan executions, kernel launches, host waits, bytes each way. */
        @JsonProperty("executions_per_step") Double executionsPerStep,
        @JsonProperty("launches_per_step") Double launchesPerStep,
        @JsonProperty("syncs_per_step") Double syncsPerStep,
        @JsonProperty("h2d_bytes_per_step") Double h2dBytesPerStep,
        @JsonProperty("d2h_bytes_per_step") Double d2hBytesPerStep,
        /** tornado: the fixed cost of one plan execution (median of a one-element kernel), the floor executions × that
         *  cost per step, and the share of the median step it explains. */
        @JsonProperty("launch_cost_ms") Double launchCostMs,
        @JsonProperty("launch_floor_ms") Double launchFloorMs,
        @JsonProperty("launch_floor_share") Double launchFloorShare) {

    static BenchRow of(String suite, String op, String shape, String backend, int threads, double flops,
                       Measurement m, double peakGflops, Double speedupVsJava) {
        double gflops = flops / (m.medianMs * 1e6);
        double best = flops / (m.minMs * 1e6);
        return new BenchRow(suite, op, shape, backend, threads, m.samplesMs.length, m.warmups, m.firstMs, m.medianMs,
                m.minMs, m.meanMs, m.cv, flops, gflops, best, peakGflops, gflops / peakGflops, m.busyCores, speedupVsJava,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null);
    }

    public BenchRow withTokensPerSecond(double tps) {
        return new BenchRow(suite, op, shape, backend, threads, reps, warmups, firstMs, medianMs, minMs, meanMs, cv, flops,
                gflops, bestGflops, peakGflops, peakShare, busyCores, speedupVsJava, tps, compiles, compileMs, h2dMs, kernelMs, d2hMs,
                executionsPerStep, launchesPerStep, syncsPerStep, h2dBytesPerStep, d2hBytesPerStep, launchCostMs, launchFloorMs,
                launchFloorShare);
    }

    /**
     * Adds the tornado split: {@code totals} from {@link TornadoSplit#totals} (null: row unchanged), compile time
     * as the total, transfer and kernel times divided by {@code repetitions} (executions of the row's action).
     */
    public BenchRow withDeviceSplit(java.util.Map<String, Double> totals, int repetitions) {
        if (totals == null) {
            return this;
        }
        double n = Math.max(1, repetitions);
        return new BenchRow(suite, op, shape, backend, threads, reps, warmups, firstMs, medianMs, minMs, meanMs, cv, flops,
                gflops, bestGflops, peakGflops, peakShare, busyCores, speedupVsJava, tokensPerSecond, totals.get("compiles"),
                totals.get("compile_ms"), totals.get("h2d_ms") / n, totals.get("kernel_ms") / n, totals.get("d2h_ms") / n,
                executionsPerStep, launchesPerStep, syncsPerStep, h2dBytesPerStep, d2hBytesPerStep, launchCostMs, launchFloorMs,
                launchFloorShare);
    }

    /** This row with compile count and time over every step of the row (tornado training steps). */
    public BenchRow withCompiles(double count, double ms) {
        return new BenchRow(suite, op, shape, backend, threads, reps, warmups, firstMs, medianMs, minMs, meanMs, cv, flops,
                gflops, bestGflops, peakGflops, peakShare, busyCores, speedupVsJava, tokensPerSecond, count, ms, h2dMs, kernelMs,
                d2hMs, executionsPerStep, launchesPerStep, syncsPerStep, h2dBytesPerStep, d2hBytesPerStep, launchCostMs,
                launchFloorMs, launchFloorShare);
    }

    /**
     * This row with the tornado counts of {@code repetitions} timed steps ({@link TornadoSplit#counts}) and the
     * launch-cost model: {@code costMs} per plan execution, floor = executions per step × cost, its share of the
     * median step.
     */
    public BenchRow withCounts(java.util.Map<String, Long> counts, int repetitions, double costMs) {
        double n = Math.max(1, repetitions);
        double execs = counts.get("executions") / n;
        return new BenchRow(suite, op, shape, backend, threads, reps, warmups, firstMs, medianMs, minMs, meanMs, cv, flops,
                gflops, bestGflops, peakGflops, peakShare, busyCores, speedupVsJava, tokensPerSecond, compiles, compileMs, h2dMs,
                kernelMs, d2hMs, execs, counts.get("launches") / n, counts.get("syncs") / n, counts.get("h2d_bytes") / n,
                counts.get("d2h_bytes") / n, costMs, execs * costMs, execs * costMs / medianMs);
    }
}
