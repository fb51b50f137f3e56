package dagmoe.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.backend.OpCases;
import dagmoe.model.Aggregator;
import dagmoe.model.StepCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dagmoe selftest [--backend B] [--device B:D]}: does this backend on this device compute what {@code java}
 * computes? Every Backend operation at small odd shapes ({@link OpCases}) and one training step of a tiny model per
 * aggregator ({@link StepCheck}), each against java with the tolerances of {@link dagmoe.backend.Agreement}, the same
 * definitions the test suite uses. On {@code tornado} also the device, its driver, the TornadoVM version and TornadoVM's
 * thread info showing that the kernels ran with global work sizes > 1. Exit 0 when everything agrees, 1 when a
 * result is off (naming the operations), 2 when the backend or device cannot start.
 */
@Command(name = "selftest", mixinStandardHelpOptions = true,
        description = "Check every backend operation (small odd shapes) and one training step per aggregator against the java "
                + "backend; exit 0 all agree, 1 a result is off, 2 the backend or device cannot start.")
public final class SelftestCommand implements Callable<Integer> {

    @Option(names = "--backend", description = "java, cpu (default) or tornado.")
    String backend = "cpu";

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device for --backend tornado (see 'dagmoe devices').")
    String device;

    @Option(names = "--threads", description = "Threads of the cpu backend (default: available processors).")
    Integer threads;

    @Override
    public Integer call() {
        int n = threads != null ? threads : Runtime.getRuntime().availableProcessors();
        Backend tested;
        try {
            tested = Backends.create(backend, n, device);
        } catch (RuntimeException | LinkageError e) {
            System.err.println("dagmoe: selftest: backend " + backend + (device != null ? " device " + device : "") + " cannot start: "
                    + e.getMessage() + (backend.equals("tornado") && !(e instanceof IllegalArgumentException) ? "; " + DevicesCommand.HOW_TO_ENABLE : ""));
            return CliSupport.BAD_INPUT;
        }
        try (tested; Backend java = Backends.create("java", 1)) {
            return run(tested, java, System.out);
        }
    }

    int run(Backend tested, Backend java, PrintStream out) {
        long t0 = System.nanoTime();
        out.printf(Locale.ROOT, "dagmoe selftest: backend %s (%d thread%s) against java%n", tested.name(), tested.threads(), tested.threads() == 1 ? "" : "s");
        List<OpCases.Row> rows = new ArrayList<>();
        String parallel = null;
        if (tested.name().equals("tornado")) {
            for (String line : tornadoFacts(tested, device)) out.println("  " + line);
            parallel = parallelProof(tested, out);
        }
        out.printf("%-34s %-26s %9s %9s %-17s %-6s %9s%n", "op", "shape", "max abs", "max rel", "tolerance", "result", "ms");
        for (OpCases.Case c : OpCases.cases()) print(out, rows, OpCases.check(c, tested, java));
        for (Aggregator agg : Aggregator.values()) {
            for (OpCases.Row r : StepCheck.check(agg, tested, java)) print(out, rows, r);
        }
        List<String> failed = new ArrayList<>();
        for (OpCases.Row r : rows) if (!r.pass()) failed.add(r.op() + " " + r.shape() + " (" + r.diff().detail() + ")");
        if (parallel != null) failed.add(parallel);
        double s = (System.nanoTime() - t0) / 1e9;
        if (failed.isEmpty()) {
            out.printf(Locale.ROOT, "selftest: %d checks on %s, all agree with java (%.1f s)%n", rows.size(), tested.name(), s);
            return CliSupport.OK;
        }
        System.err.printf(Locale.ROOT, "dagmoe: selftest: %d of %d checks on %s FAILED: %s%n", failed.size(), rows.size() + (parallel != null ? 1 : 0),
                tested.name(), String.join("; ", failed));
        return CliSupport.INTERNAL;
    }

    private static void print(PrintStream out, List<OpCases.Row> rows, OpCases.Row r) {
        rows.add(r);
        out.printf(Locale.ROOT, "%-34s %-26s %9.2e %9.2e %-17s %-6s %9.1f%n", r.op(), r.shape(), r.diff().maxAbs(), r.diff().maxRel(),
                r.diff().tolerance().describe(), r.pass() ? "pass" : "FAIL", r.millis());
    }

    // ---------------------------------------------------------------- tornado (reflective: its classes exist only in tornado builds)

    /** Device (name, description with the driver), and TornadoVM's version from its API jar; {@code device} "B:D" or null. */
    static List<String> tornadoFacts(Backend tornado, String device) {
        List<String> lines = new ArrayList<>();
        lines.add("device: " + call(tornado, "device"));
        lines.add("driver: " + driverVersion(device));
        String home = System.getenv("TORNADOVM_HOME");
        Path release = home == null ? null : Path.of(home, "etc", "tornado.release");
        if (release != null && java.nio.file.Files.isRegularFile(release)) {
            try {
                lines.add("TornadoVM: " + String.join(", ", java.nio.file.Files.readAllLines(release)).trim() + " (" + release + ")");
                return lines;
            } catch (java.io.IOException | RuntimeException e) {
                // fall back to the API jar's version below
            }
        }
        try {
            Class<?> api = Class.forName("uk.ac.manchester.tornado.api.TaskGraph");
            String v = api.getPackage().getImplementationVersion();
            if (v == null && api.getProtectionDomain().getCodeSource() != null) {
                String jar = Path.of(api.getProtectionDomain().getCodeSource().getLocation().toURI()).getFileName().toString();
                v = jar.replaceFirst("^tornado-api-", "").replaceFirst("\\.jar$", "") + " (from " + jar + ")";
            }
            lines.add("TornadoVM: " + (v == null ? "unknown version" : v));
        } catch (ReflectiveOperationException | RuntimeException | java.net.URISyntaxException e) {
            lines.add("TornadoVM: version unknown (" + e + ")");
        }
        return lines;
    }

    /** The selected ("B:D") or, for null or "", the default device's driver version, from TornadoVM's runtime API. */
    static String driverVersion(String device) {
        try {
            Class<?> rtType = Class.forName("uk.ac.manchester.tornado.api.TornadoRuntime");
            Object rt = Class.forName("uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider").getMethod("getTornadoRuntime").invoke(null);
            String sel = device == null ? "" : device.trim();
            Object dev;
            if (sel.matches("\\d+:\\d+")) {
                Object be = rtType.getMethod("getBackend", int.class).invoke(rt, Integer.parseInt(sel.split(":")[0]));
                dev = Class.forName("uk.ac.manchester.tornado.api.TornadoBackend").getMethod("getDevice", int.class)
                        .invoke(be, Integer.parseInt(sel.split(":")[1]));
            } else {
                dev = rtType.getMethod("getDefaultDevice").invoke(rt);
            }
            Object phys = Class.forName("uk.ac.manchester.tornado.api.common.TornadoDevice").getMethod("getPhysicalDevice").invoke(dev);
            try {
                return String.valueOf(phys.getClass().getMethod("getDriverVersion").invoke(phys)); // OpenCL, PTX devices
            } catch (ReflectiveOperationException | RuntimeException e) {
                return String.valueOf(Class.forName("uk.ac.manchester.tornado.api.TornadoTargetDevice").getMethod("getDeviceInfo").invoke(phys));
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return "n/a (" + e + ")";
        }
    }

    /**
     * Runs a 64×48×32 matrix product (portable kernel) and a 1000-element axpy with TornadoVM's thread info on and
     * prints the global work sizes; returns a failure text when they do not show the loop bounds (TornadoVM silently
     * runs a kernel on one thread when it does not see the @Parallel marker), else null.
     */
    static String parallelProof(Backend tornado, PrintStream out) {
        int m = 64, n = 48, k = 32;
        float[] a = new float[m * k], b = new float[n * k], c = new float[m * n], x = new float[1000], y = new float[1000];
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Object tiled = call(tornado, "tiled");
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            call(tornado, "setThreadInfo", true);
            call(tornado, "setTiled", false);
            tornado.matmulABt(a, 0, b, 0, c, 0, m, n, k, false);
            tornado.axpy(0.5f, x, y, 1000);
            tornado.toHost(c, y);
        } finally {
            call(tornado, "setThreadInfo", false);
            if (tiled instanceof Boolean t) call(tornado, "setTiled", t);
            System.out.flush();
            System.setOut(old);
        }
        Matcher mt = Pattern.compile("Global work size\\s*:\\s*\\[([0-9, ]+)\\]").matcher(buf.toString(StandardCharsets.UTF_8));
        List<String> sizes = new ArrayList<>();
        while (mt.find()) sizes.add("[" + mt.group(1).replace(" ", "") + "]");
        out.println("  kernels ran with global work sizes " + sizes + " (matmulABt 64x48x32, axpy 1000; TornadoVM thread info)");
        String all = String.join("", sizes);
        boolean ok = (all.contains("[64,48") || all.contains("[48,64")) && all.contains("[1000");
        return ok ? null : "parallel launch: TornadoVM's thread info shows global work sizes " + sizes
                + " instead of [64,48] and [1000] (kernels ran on one thread: is -Dtornado.load.annotation.parallel=dagmoe.kernels.Parallel set?)";
    }

    private static Object call(Backend b, String method, Object... args) {
        try {
            for (var m : b.getClass().getMethods()) {
                if (m.getName().equals(method) && m.getParameterCount() == args.length) return m.invoke(b, args);
            }
            return "n/a (" + method + ")";
        } catch (ReflectiveOperationException e) {
            return "n/a (" + e.getCause() + ")";
        }
    }
}
