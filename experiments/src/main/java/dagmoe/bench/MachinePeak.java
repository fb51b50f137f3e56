package dagmoe.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The machine's fp32 peak, derived as cores × vector lanes × 2 (an FMA is two FLOPs) × FMA units per core × clock.
 *
 * <p>The clock: /proc/cpuinfo's "cpu MHz" is often the nominal (base) clock, not the running one (lscpu shows
 * 2.6 GHz on machines that run at ~4 GHz). So a one-thread FMA probe (independent Vector API FMA chains, which
 * reach the FMA ports' throughput) gives an implied running clock, and the derived peak uses the higher of the
 * two — a conservative peak (never understated by a low nominal clock). {@code --clock-ghz} overrides both.
 */
public final class MachinePeak {
    private static final VectorSpecies<Float> SP = FloatVector.SPECIES_PREFERRED;

    public final int cores;
    public final int vectorBits;
    public final int lanes;
    public final int fmaUnits;
    public final double cpuinfoGhz;     // NaN when /proc/cpuinfo has no "cpu MHz"
    public final double probeGflops1;  // one-thread FMA probe, NaN when not run
    public final double probeGhz;       // clock implied by the probe
    public final double ghz;            // the clock used for the peak
    public final String clockSource;
    public final double peakGflops;

    private MachinePeak(int cores, int fmaUnits, double cpuinfoGhz, double probeGflops1, Double overrideGhz) {
        this.cores = cores;
        this.vectorBits = SP.vectorBitSize();
        this.lanes = SP.length();
        this.fmaUnits = fmaUnits;
        this.cpuinfoGhz = cpuinfoGhz;
        this.probeGflops1 = probeGflops1;
        this.probeGhz = probeGflops1 / (lanes * 2.0 * fmaUnits);
        if (overrideGhz != null) {
            ghz = overrideGhz;
            clockSource = "--clock-ghz";
        } else if (Double.isNaN(cpuinfoGhz) && Double.isNaN(probeGhz)) {
            ghz = 3.0;
            clockSource = "assumed (no /proc/cpuinfo, no probe)";
        } else if (Double.isNaN(cpuinfoGhz) || probeGhz > cpuinfoGhz) {
            ghz = probeGhz;
            clockSource = "FMA probe (above /proc/cpuinfo's nominal clock)";
        } else {
            ghz = cpuinfoGhz;
            clockSource = "/proc/cpuinfo cpu MHz";
        }
        this.peakGflops = cores * lanes * 2.0 * fmaUnits * ghz;
    }

    /** Derives the peak for {@code cores} threads; runs the probe (~1 s) unless the clock is given. */
    public static MachinePeak derive(int cores, int fmaUnits, Double overrideGhz) {
        double probe = overrideGhz != null ? Double.NaN : probeFmaGflops();
        return new MachinePeak(cores, fmaUnits, cpuinfoGhz(), probe, overrideGhz);
    }

    /** The highest "cpu MHz" line of /proc/cpuinfo in GHz, NaN if unreadable. */
    public static double cpuinfoGhz() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            double best = Double.NaN;
            for (String line : lines) {
                if (line.startsWith("cpu MHz")) {
                    double mhz = Double.parseDouble(line.substring(line.indexOf(':') + 1).trim());
                    best = Double.isNaN(best) ? mhz / 1000 : Math.max(best, mhz / 1000);
                }
            }
            return best;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    /** Best of a few timed runs of 10 independent FMA chains on one thread, in GFLOP/s. */
    static double probeFmaGflops() {
        long iters = 2_000_000;
        double best = 0;
        for (int rep = 0; rep < 12; rep++) {
            long t0 = System.nanoTime();
            float sink = fmaChains(iters);
            long dt = System.nanoTime() - t0;
            if (sink == 42f) {
                System.out.print("");
            }
            if (rep >= 4) { // the first runs are interpreted / being compiled
                best = Math.max(best, iters * 10.0 * 2 * SP.length() / dt);
            }
        }
        return best;
    }

    private static float fmaChains(long iters) {
        FloatVector a0 = FloatVector.broadcast(SP, 1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
        FloatVector a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0;
        FloatVector x = FloatVector.broadcast(SP, 0.999999f), y = FloatVector.broadcast(SP, 1e-7f);
        for (long i = 0; i < iters; i++) {
            a0 = a0.fma(x, y); a1 = a1.fma(x, y); a2 = a2.fma(x, y); a3 = a3.fma(x, y); a4 = a4.fma(x, y);
            a5 = a5.fma(x, y); a6 = a6.fma(x, y); a7 = a7.fma(x, y); a8 = a8.fma(x, y); a9 = a9.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).lane(0);
    }

    /** Lines that say how the peak was derived. */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "fp32 peak = %d cores x %d lanes (FloatVector.SPECIES_PREFERRED = %d bits) x 2 FLOP/FMA x %d FMA units/core x %.3f GHz = %.1f GFLOP/s%n",
                cores, lanes, vectorBits, fmaUnits, ghz, peakGflops));
        sb.append(String.format(Locale.ROOT, "  clock: %s; /proc/cpuinfo cpu MHz = %s; 1-thread FMA probe = %s%n", clockSource,
                Double.isNaN(cpuinfoGhz) ? "n/a" : String.format(Locale.ROOT, "%.3f GHz", cpuinfoGhz),
                Double.isNaN(probeGflops1) ? "not run" : String.format(Locale.ROOT, "%.1f GFLOP/s -> %.3f GHz running clock", probeGflops1, probeGhz)));
        sb.append("  (cpuinfo/lscpu often show the nominal clock, below the running one; FMA units/core = 2 is assumed for AVX2/AVX-512 cores, --fma-units to change)");
        return sb.toString();
    }
}
