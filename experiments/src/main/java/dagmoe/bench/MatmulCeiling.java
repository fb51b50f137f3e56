package dagmoe.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.train.Mfu;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The machine's measured matrix-product ceilings for model-FLOPs utilisation: the best of a few 1024³ products
 * on dagmoe's {@code cpu} backend ({@link Mfu#measureGflops}) and, where {@code /usr/bin/python3} has numpy,
 * OpenBLAS's (numpy's float32 matmul) at the same thread count, both measured in the calling run. The numpy
 * process runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed (they pin an older, slower kernel set on
 * some processors) and reports the kernel set OpenBLAS picked.
 */
public final class MatmulCeiling {
    private MatmulCeiling() {}

    /** GFLOP/s of both (numpy NaN when unavailable) and the OpenBLAS kernel set / why numpy was not measured. */
    public record Ceilings(double cpuGflops, double numpyGflops, String numpyNote) {
        /** Prints the two MFU ratios of a step of {@code flops} FLOPs taking {@code seconds}. */
        public void printMfu(PrintStream out, String what, double flops, double seconds) {
            double achieved = flops / seconds / 1e9;
            out.printf(Locale.ROOT, "  MFU %s: %.2f GFLOP/s of model FLOPs (%.3g per step) = %.1f%% of the cpu 1024³ product"
                            + " ceiling (%.1f GFLOP/s)%s%n", what, achieved, flops, 100 * achieved / cpuGflops, cpuGflops,
                    Double.isNaN(numpyGflops) ? "; OpenBLAS ceiling not measured (" + numpyNote + ")"
                            : String.format(Locale.ROOT, ", %.1f%% of OpenBLAS's 1024³ (numpy, %.1f GFLOP/s, %s)",
                            100 * achieved / numpyGflops, numpyGflops, numpyNote));
        }
    }

    public static Ceilings measure(int threads) {
        double cpu = Mfu.measureGflops(threads, 5);
        String python = "/usr/bin/python3";
        if (!Files.isExecutable(Path.of(python))) return new Ceilings(cpu, Double.NaN, python + " not found");
        String script = String.join("\n",
                "import json, time, ctypes, re",
                "import numpy as np",
                "n = 1024",
                "a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)",
                "b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)",
                "a @ b",
                "best = 1e9",
                "for _ in range(5):",
                "    t = time.perf_counter(); a @ b; best = min(best, time.perf_counter() - t)",
                "core = ''",
                "for line in open('/proc/self/maps'):",
                "    p = line.split()[-1]",
                "    if re.search('openblas', p, re.I) and not core:",
                "        try:",
                "            h = ctypes.CDLL(p); h.openblas_get_corename.restype = ctypes.c_char_p",
                "            core = h.openblas_get_corename().decode()",
                "        except (OSError, AttributeError):",
                "            pass",
                "print(json.dumps({'gflops': 2 * n ** 3 / best / 1e9, 'core': core}))");
        ProcessBuilder pb = new ProcessBuilder(List.of(python, "-c", script)).redirectErrorStream(true);
        pb.environment().remove("OPENBLAS_CORETYPE");
        pb.environment().remove("OPENBLAS_L2_SIZE");
        pb.environment().put("OMP_NUM_THREADS", Integer.toString(threads));
        pb.environment().put("OPENBLAS_NUM_THREADS", Integer.toString(threads));
        pb.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
        try {
            Process p = pb.start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                return new Ceilings(cpu, Double.NaN, "numpy did not finish");
            }
            if (p.exitValue() != 0) return new Ceilings(cpu, Double.NaN, "numpy failed: " + text.lines().reduce((x, y) -> y).orElse(""));
            String[] lines = text.split("\n");
            JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
            String core = j.path("core").asText("");
            return new Ceilings(cpu, j.get("gflops").asDouble(), "OpenBLAS core " + (core.isEmpty() ? "?" : core)
                    + ", OPENBLAS_CORETYPE/L2_SIZE unset, " + threads + " threads");
        } catch (Exception e) {
            return new Ceilings(cpu, Double.NaN, "numpy not run: " + e.getMessage());
        }
    }
}
