package dagmoe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * {@code ./dagmoe bundle}, built once for the class (after {@code package}: run by failsafe in {@code mvn verify}),
 * unpacked into a temporary folder and run in an environment without a JDK: no JAVA_HOME, a PATH whose tools
 * exclude java, javac and Maven, and, where the test runs as root and may unshare a mount namespace, a tmpfs over
 * /usr/lib/jvm so that no JDK file is reachable at all (skipped with a message elsewhere). Checks: the size limit,
 * the same losses as ./dagmoe from the repository, {@code selftest --backend cpu}, and every command of the command line, plots included, so that a
 * JDK module missing from {@link BundleCommand#MODULES} fails here.
 */
class BundleIT {
    static Path repo, tmp, bundle, tools;
    /** The command prefix that hides /usr/lib/jvm (a private mount namespace), or empty where that is not possible. */
    static List<String> hideJdk = List.of();

    record Result(int code, String out) {}

    @BeforeAll
    static void buildAndUnpack() throws Exception {
        assumeTrue(System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux"), "the bundle is for Linux");
        repo = packagedRepository();
        tmp = Files.createTempDirectory("dagmoe-bundle-it");
        String build = System.getProperty("dagmoe.build.dir", "target");
        Result r = run(repo, repoEnv(build), List.of(repo.resolve("dagmoe").toString(), "bundle", "--out", tmp.resolve("dist").toString()));
        assertEquals(0, r.code, r.out);
        Path archive = Paths.get(r.out.strip().lines().reduce((a, b) -> b).orElseThrow());
        String name = archive.getFileName().toString();
        assertTrue(name.matches("dagmoe-" + BundleCommand.version() + "-linux-x64\\.tar\\.xz"), name);
        long size = Files.size(archive);
        assertTrue(size <= BundleCommand.LIMIT_MIB * 1048576L, "bundle " + size + " bytes > " + BundleCommand.LIMIT_MIB + " MiB:\n" + r.out);
        assertTrue(r.out.contains("runtime/") && r.out.contains("MiB compressed"), "size report:\n" + r.out);
        System.err.println(r.out);

        Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
        assertEquals(0, run(tmp, System.getenv(), List.of("tar", "-xJf", archive.toString(), "-C", unpacked.toString())).code);
        bundle = unpacked.resolve(name.substring(0, name.length() - ".tar.xz".length()));
        assertTrue(Files.isExecutable(bundle.resolve("bin/dagmoe")));
        tools = noJdkTools();
        hideJdk = hideJdkIfPossible();
    }

    /** The repository root (failsafe runs in experiments/), whose build mvn verify has just packaged. */
    static Path packagedRepository() {
        return Paths.get("").toAbsolutePath().getParent();
    }

    @AfterAll
    static void cleanUp() throws IOException {
        if (tmp != null) BundleCommand.deleteTree(tmp);
    }

    /** The environment of ./dagmoe in the repository: this test's JDK and build, used as it is (no rebuild from inside Maven). */
    static java.util.Map<String, String> repoEnv(String build) {
        java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        env.put("DAGMOE_BUILD_DIR", build);
        env.put("DAGMOE_NO_BUILD", "1");
        env.remove("TORNADOVM_HOME");
        env.remove("DAGMOE_JAVA_OPTS");
        return env;
    }

    /** A folder of links to every program in /usr/bin and /bin except the JDK's (and Maven): a PATH without java. */
    static Path noJdkTools() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("tools"));
        for (String d : new String[] {"/usr/bin", "/bin"}) {
            if (!Files.isDirectory(Paths.get(d))) continue;
            try (Stream<Path> s = Files.list(Paths.get(d))) {
                for (Path p : (Iterable<Path>) s::iterator) {
                    String n = p.getFileName().toString();
                    Path real;
                    try {
                        real = p.toRealPath();
                    } catch (IOException e) {
                        continue;
                    }
                    if (real.startsWith("/usr/lib/jvm") || n.startsWith("mvn") || Files.exists(dir.resolve(n)) || !Files.isExecutable(p)) continue;
                    Files.createSymbolicLink(dir.resolve(n), p);
                }
            }
        }
        return dir;
    }

    /** As root: unshare a mount namespace and lay an empty tmpfs over /usr/lib/jvm for the command; else nothing. */
    static List<String> hideJdkIfPossible() throws Exception {
        List<String> prefix = List.of("unshare", "-m", "--", "/bin/sh", "-c", "mount -t tmpfs tmpfs /usr/lib/jvm && exec \"$@\"", "sh");
        if (!"root".equals(System.getProperty("user.name")) || !Files.isDirectory(Paths.get("/usr/lib/jvm"))) {
            System.err.println("BundleIT: not root or no /usr/lib/jvm: JDK hidden by JAVA_HOME and PATH only (no private mount namespace)");
            return List.of();
        }
        List<String> probe = new ArrayList<>(prefix);
        probe.addAll(List.of("/bin/sh", "-c", "ls -A /usr/lib/jvm | wc -l"));
        Result r = run(tmp, System.getenv(), probe);
        if (r.code != 0 || !r.out.strip().equals("0")) {
            System.err.println("BundleIT: cannot hide /usr/lib/jvm in a private mount namespace (" + r.out.strip()
                    + "): JDK hidden by JAVA_HOME and PATH only");
            return List.of();
        }
        return prefix;
    }

    /** Runs bin/dagmoe of the unpacked bundle, from the bundle's folder, in the environment without a JDK. */
    static Result bundled(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(hideJdk);
        cmd.add(bundle.resolve("bin/dagmoe").toString());
        cmd.addAll(List.of(args));
        return run(bundle, noJdkEnv(), cmd);
    }

    static java.util.Map<String, String> noJdkEnv() {
        return java.util.Map.of("PATH", tools.toString(), "HOME", tmp.toString(), "LANG", "C.UTF-8");
    }

    static Result run(Path dir, java.util.Map<String, String> env, List<String> cmd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(env);
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "timed out: " + cmd);
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    static void ok(Result r, String what) {
        assertEquals(0, r.code, what + ":\n" + r.out);
        assertFalse(r.out.contains("Exception") || r.out.contains("warning: plots not written"), what + ":\n" + r.out);
    }

    // ---------------------------------------------------------------- tests

    @Test
    void theEnvironmentHasNoJdk() throws Exception {
        List<String> cmd = new ArrayList<>(hideJdk);
        cmd.addAll(List.of("/bin/sh", "-c", "command -v java javac mvn; echo JAVA_HOME=${JAVA_HOME:-}"
                + (hideJdk.isEmpty() ? "" : "; ls -A /usr/lib/jvm")));
        Result r = run(bundle, noJdkEnv(), cmd);
        assertEquals("JAVA_HOME=", r.out.strip(), "no java, javac or mvn on PATH, no JAVA_HOME, nothing in /usr/lib/jvm");
    }

    @Test
    void quickstartTrainsWithTheRepositorysLosses() throws Exception {
        String[] train = {"train", "--config", "configs/quickstart.json", "--set", "train.steps=3", "--set", "train.log_every=1"};
        Path a = tmp.resolve("repo-run"), b = tmp.resolve("bundle-run");
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("dagmoe").toString()));
        cmd.addAll(List.of(train));
        cmd.addAll(List.of("--out", a.toString()));
        ok(run(repo, repoEnv(System.getProperty("dagmoe.build.dir", "target")), cmd), "./dagmoe train");
        List<String> args = new ArrayList<>(List.of(train));
        args.addAll(List.of("--out", b.toString()));
        ok(bundled(args.toArray(String[]::new)), "bin/dagmoe train");
        List<Double> la = CliTestSupport.losses(a), lb = CliTestSupport.losses(b);
        assertEquals(3, la.size(), "three logged steps");
        assertEquals(la, lb, "the bundle's runtime gives the repository's losses");
        ObjectMapper json = new ObjectMapper();
        assertEquals(json.readTree(a.resolve("summary.json").toFile()).get("val_loss").asDouble(),
                json.readTree(b.resolve("summary.json").toFile()).get("val_loss").asDouble(), 0.0);
        assertPngs(b.resolve("plots"));
    }

    @Test
    void selftestOnCpuPasses() throws Exception {
        Result r = bundled("selftest", "--backend", "cpu");
        ok(r, "bin/dagmoe selftest --backend cpu");
        assertTrue(r.out.contains("all agree with java") && r.out.contains("step dag gradients"), r.out);
    }

    /** Every command of the command line on the bundle (tiny models): a class or module the bundle lacks fails here. */
    @Test
    void everyCommandRunsOnTheBundle() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("commands"));
        ok(bundled("--help"), "--help");
        ok(bundled("--version"), "--version");
        ok(bundled("train", "--list-keys"), "train --list-keys");
        String variants = ", \"compare\": {\"seeds\": 1, \"variants\": [{\"name\": \"sum\", \"set\": {\"model.aggregator\": \"sum\"}},"
                + " {\"name\": \"dag\", \"set\": {\"model.aggregator\": \"dag\"}}]}";
        Path cfg = CliTestSupport.config(work, "dag", 4, variants);
        Path run = work.resolve("run"), cmp = work.resolve("compare");
        ok(bundled("train", "--config", cfg.toString(), "--out", run.toString(), "--backend", "cpu", "--threads", "2"), "train");
        assertPngs(run.resolve("plots"));
        ok(bundled("eval", "--run", run.toString()), "eval");
        ok(bundled("generate", "--run", run.toString(), "--prompt", "the whale", "--tokens", "5"), "generate");
        ok(bundled("compare", "--config", cfg.toString(), "--out", cmp.toString()), "compare");
        assertPngs(cmp.resolve("plots"));
        Path suite = Files.createDirectories(work.resolve("suite"));
        Files.writeString(suite.resolve("hops.json"), """
                {"name": "hops",
                 "model": {"d_model": 16, "n_layers": 1, "n_heads": 2, "seq_len": 0, "n_experts": 4, "top_k": 2, "expert_hidden": 16},
                 "train": {"steps": 2, "batch_size": 4, "eval_every": 2, "checkpoint_every": 0, "log_every": 1},
                 "data": {"task": "hops", "task_params": {"n": 4, "k_max": 2, "test_size": 8}},
                 "backend": {"name": "java"},
                 "compare": {"seeds": 1, "variants": [{"name": "sum", "set": {"model.aggregator": "sum"}}]}}""");
        Path suiteOut = work.resolve("suite-out");
        ok(bundled("suite", "--dir", suite.toString(), "--out", suiteOut.toString(), "--runs", work.resolve("suite-runs").toString()), "suite");
        assertPngs(suiteOut.resolve("plots"));
        ok(bundled("bench", "--suite", "kernels", "--backends", "java,cpu", "--filter", "rmsnorm", "--reps", "1", "--warmup-s", "0"), "bench kernels");
        Path benchCfg = BenchConfigTest.config(work, """
                {"kernels": ["rmsnormForward"], "kernel_reps": 1, "kernel_warmup_s": 0, "kernel_budget_s": 0.1, "warmup": 1, "reps": 1}""");
        Path benchOut = work.resolve("bench");
        ok(bundled("bench", "--config", benchCfg.toString(), "--backends", "java,cpu", "--out", benchOut.toString()), "bench --config");
        assertTrue(Files.size(benchOut.resolve("bench.png")) > 0);
        // Commands that need what a plain bundle has not: one message, exit 2.
        Result devices = bundled("devices");
        assertEquals(2, devices.code, devices.out);
        assertTrue(devices.out.contains("no TornadoVM backend"), devices.out);
        Result again = bundled("bundle", "--out", work.resolve("b").toString());
        assertEquals(2, again.code, again.out);
        assertTrue(again.out.contains("no jlink"), again.out);
    }

    /** The README's module list is {@link BundleCommand#MODULES}. */
    @Test
    void readmeListsTheModules() throws IOException {
        String readme = Files.readString(repo.resolve("README.md"));
        String line = readme.lines().filter(l -> l.contains("JDK modules of the runtime")).findFirst().orElse("");
        for (String m : BundleCommand.MODULES) assertTrue(line.contains("`" + m + "`"), "README's module line lacks " + m + ": " + line);
        assertEquals(BundleCommand.MODULES.size(), line.split("`", -1).length / 2, "README lists exactly the modules: " + line);
    }

    static void assertPngs(Path plots) throws IOException {
        assertTrue(Files.isDirectory(plots), plots + " missing");
        try (Stream<Path> s = Files.list(plots)) {
            List<Path> pngs = s.filter(p -> p.toString().endsWith(".png")).toList();
            assertFalse(pngs.isEmpty(), "no plot in " + plots);
            for (Path p : pngs) assertTrue(Files.size(p) > 100, p + " is empty");
        }
    }
}
