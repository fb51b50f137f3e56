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
        @JsonProperty("speedup_vs_java") Double speedupVsJava) {

    static BenchRow of(String suite, String op, String shape, String backend, int threads, double flops,
                       Measurement m, double peakGflops, Double speedupVsJava) {
        double gflops = flops / (m.medianMs * 1e6);
        double best = flops / (m.minMs * 1e6);
        return new BenchRow(suite, op, shape, backend, threads, m.samplesMs.length, m.warmups, m.firstMs, m.medianMs,
                m.minMs, m.meanMs, m.cv, flops, gflops, best, peakGflops, gflops / peakGflops, m.busyCores, speedupVsJava);
    }
}
