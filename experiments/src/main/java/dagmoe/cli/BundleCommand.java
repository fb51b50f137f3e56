package dagmoe.cli;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import dagmoe.data.Builtins;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code dagmoe bundle [--out DIR] [--tornado]}: a self-contained {@code dagmoe-<version>-linux-x64.tar.xz} for a
 * machine without a JDK, Maven or network. It holds
 * <pre>
 *   bin/dagmoe      the launcher (the repository's ./dagmoe, which runs the bundled runtime when it sits in bin/)
 *   runtime/        a jlink image of the running JDK with only {@link #MODULES} (+ the SDK's with --tornado),
 *                   stripped of debug attributes and symbols, man pages and headers
 *   lib/            the project's jars and their dependencies (the launcher's class path)
 *   configs/        the repository's configs
 *   corpora/        the built-in corpus (builtin:europarl)
 *   tornado/        with --tornado: from TORNADOVM_HOME the argfile, the jars the JVM resolved, native libraries, etc/
 * </pre>
 * The archive is written next to a temporary copy and moved into place at the end; an earlier bundle stays
 * until then. Exit 2 when this JVM cannot make one (no jlink: a runtime, not a JDK; --tornado without a
 * TornadoVM build or SDK).
 */
@Command(name = "bundle", mixinStandardHelpOptions = true,
        description = "Write dagmoe-<version>-linux-x64.tar.xz: a jlink runtime, the jars, configs/ and the built-in corpus, "
                + "with bin/dagmoe needing no JDK, Maven or network on the target machine.")
public final class BundleCommand implements Callable<Integer> {

    /**
     * The JDK modules of the bundled runtime: THE list (the README repeats it; BundleIT checks that jdeps finds no
     * other and that every command runs on the bundle). jdeps -R over the command line finds java.base,
     * java.desktop, java.sql, jdk.incubator.vector and jdk.management; the rest are what those jars use at run time
     * only or what the issue's reference measurement listed.
     */
    public static final List<String> MODULES = List.of(
            "java.base",
            "java.desktop",          // the plots (xchart draws with AWT/ImageIO)
            "java.logging",          // jackson-databind, jline
            "java.management",       // thread CPU time (bench, aggregator profile)
            "jdk.management",        // com.sun.management.OperatingSystemMXBean (machine facts in bench reports)
            "java.sql",              // jackson-databind's java.sql.Date/Timestamp support
            "jdk.incubator.vector",  // the cpu backend
            "jdk.unsupported");      // sun.misc.Unsafe for libraries that probe it (jline)

    /** Added for a TornadoVM 5.x SDK (its compiler is a JVMCI client), besides the system modules its jars and argfile name. */
    public static final List<String> TORNADO_MODULES = List.of("jdk.internal.vm.ci");

    /** The compressed size the plain bundle, and one with a TornadoVM SDK, must stay within (MiB). */
    public static final int LIMIT_MIB = 40, TORNADO_LIMIT_MIB = 56;

    /** Placeholder for the bundle's tornado/ folder in its copy of the SDK's argfile (bin/dagmoe expands it). */
    static final String SDK_PLACEHOLDER = "@TORNADOVM_HOME@";

    @Option(names = "--out", description = "Folder to write the archive into (default: dist).")
    Path out = Paths.get("dist");

    @Option(names = "--tornado", description = "Include the TornadoVM SDK of TORNADOVM_HOME (needs a build with the tornado profile, "
            + "run under the JDK the SDK needs).")
    boolean tornado;

    @Option(names = "--format", description = "xz (default: the smallest) or gz (about 1.4x larger, 5x faster to write).")
    String format = "xz";

    @Override
    public Integer call() {
        return CliSupport.guard(this::bundle);
    }

    private int bundle() throws IOException, InterruptedException {
        if (!format.equals("xz") && !format.equals("gz")) throw new CliSupport.BadInput("--format " + format + ": use xz or gz");
        ToolProvider jlink = ToolProvider.findFirst("jlink").orElse(null), jdeps = ToolProvider.findFirst("jdeps").orElse(null);
        if (jlink == null || jdeps == null) {
            throw new CliSupport.BadInput("bundle: this java (" + System.getProperty("java.home") + ") has no jlink/jdeps: run it with a "
                    + "JDK 17+ (set JAVA_HOME), not a runtime such as a bundle's");
        }
        Path home = Paths.get(System.getProperty("dagmoe.home", "")).toAbsolutePath().normalize();
        Path launcher = Files.isRegularFile(home.resolve("bin/dagmoe")) ? home.resolve("bin/dagmoe") : home.resolve("dagmoe");
        if (!Files.isRegularFile(launcher) || !Files.isDirectory(home.resolve("configs"))) {
            throw new CliSupport.BadInput("bundle: " + home + " has no dagmoe launcher and configs/: run it through ./dagmoe at the repository root");
        }
        Path sdk = tornado ? checkSdk() : null;
        List<Path> classPath = classPath();
        String version = version(), name = "dagmoe-" + version + "-" + platform();

        Set<String> modules = new TreeSet<>(MODULES);
        Set<String> found = jdepsModules(jdeps, classPath);
        found.removeAll(MODULES);
        if (!found.isEmpty()) {
            System.err.println("dagmoe: bundle: jdeps finds JDK modules missing from BundleCommand.MODULES: " + found
                    + " (add them there and to the README's list)");
            return CliSupport.INTERNAL;
        }
        if (sdk != null) {
            modules.addAll(TORNADO_MODULES);
            modules.addAll(sdkModules(sdk));
        }

        Files.createDirectories(out);
        Path staging = Files.createTempDirectory(out.toAbsolutePath(), ".dagmoe-bundle-");
        try {
            Path root = staging.resolve(name);
            Files.createDirectories(root.resolve("bin"));
            System.err.println("bundle: jlink " + String.join(",", modules) + " (from " + System.getProperty("java.home") + ")");
            runTool(jlink, "--add-modules", String.join(",", modules), "--strip-debug", "--no-man-pages", "--no-header-files",
                    Runtime.version().feature() >= 21 ? "--compress=zip-0" : "--compress=0", // the archive compresses better
                    "--output", root.resolve("runtime").toString());
            stripNativeSymbols(root.resolve("runtime"));
            Path lib = Files.createDirectories(root.resolve("lib"));
            for (Path p : classPath) {
                if (Files.isDirectory(p)) jarFolder(p, lib.resolve(jarNameOf(p, version)));
                else Files.copy(p, lib.resolve(p.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
            }
            copyTree(home.resolve("configs"), root.resolve("configs"));
            Path corpus = Builtins.resolve(Builtins.PREFIX + "europarl");
            Files.createDirectories(root.resolve("corpora"));
            Files.copy(corpus, root.resolve("corpora").resolve(corpus.getFileName().toString()));
            Files.copy(launcher, root.resolve("bin/dagmoe"));
            Files.setPosixFilePermissions(root.resolve("bin/dagmoe"), PosixFilePermissions.fromString("rwxr-xr-x"));
            if (sdk != null) copySdk(sdk, root.resolve("tornado"));
            Files.writeString(root.resolve("README.txt"), readme(name, modules, sdk != null));

            Path archive = out.resolve(name + ".tar." + format).toAbsolutePath();
            Path tmp = staging.resolve(archive.getFileName() + ".tmp");
            System.err.println("bundle: compressing (" + format + ")...");
            tar(staging, name, tmp);
            Files.move(tmp, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            report(archive, root, sdk != null);
            System.out.println(archive);
            return CliSupport.OK;
        } finally {
            deleteTree(staging);
        }
    }

    // ---------------------------------------------------------------- inputs

    /** TORNADOVM_HOME, checked: this build has the tornado backend and this JDK is the one the SDK was built for. */
    private static Path checkSdk() {
        String env = System.getenv("TORNADOVM_HOME");
        if (env == null || env.isBlank()) throw new CliSupport.BadInput("bundle --tornado: TORNADOVM_HOME is not set (point it at an installed TornadoVM SDK)");
        Path sdk = Paths.get(env).toAbsolutePath().normalize();
        if (!Files.isRegularFile(sdk.resolve("tornado-argfile"))) {
            throw new CliSupport.BadInput("bundle --tornado: " + sdk.resolve("tornado-argfile") + " is missing");
        }
        try {
            Class.forName(DevicesCommand.LISTING_CLASS, false, BundleCommand.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new CliSupport.BadInput("bundle --tornado: this build has no TornadoVM backend: rebuild with TORNADOVM_HOME set (the Maven profile 'tornado')");
        }
        if (ModuleLayer.boot().findModule("tornado.runtime").isEmpty()) {
            throw new CliSupport.BadInput("bundle --tornado: this JVM runs without the SDK's modules: run it through ./dagmoe with TORNADOVM_HOME "
                    + "set (it adds " + sdk.resolve("tornado-argfile") + ")");
        }
        Integer jdk = sdkJdk(sdk);
        if (jdk != null && jdk != Runtime.version().feature()) {
            throw new CliSupport.BadInput("bundle --tornado: the SDK at " + sdk + " is built for JDK " + jdk + " but this java is JDK "
                    + Runtime.version().feature() + ": set JAVA_HOME to a JDK " + jdk + " (the bundle's runtime is made from it)");
        }
        return sdk;
    }

    /** The JDK feature version in the SDK's tornado-api-<version>-jdkNN*.jar, or null when its name has none. */
    static Integer sdkJdk(Path sdk) {
        try (Stream<Path> s = Files.list(sdk.resolve("share/java/tornado"))) {
            Pattern p = Pattern.compile("tornado-api-.*-jdk(\\d+).*\\.jar");
            for (Path f : (Iterable<Path>) s.sorted()::iterator) {
                Matcher m = p.matcher(f.getFileName().toString());
                if (m.matches()) return Integer.parseInt(m.group(1));
            }
            return null;
        } catch (IOException e) {
            throw new CliSupport.BadInput("bundle --tornado: " + sdk.resolve("share/java/tornado") + ": " + e.getMessage());
        }
    }

    /** This JVM's class path (the launcher's: the classes folder and lib/*.jar). */
    private static List<Path> classPath() {
        List<Path> out = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (!e.isBlank() && Files.exists(Paths.get(e))) out.add(Paths.get(e).toAbsolutePath().normalize());
        }
        return out;
    }

    /** Main's version ("dagmoe 0.1.0" -> 0.1.0): one place for the version the user sees. */
    static String version() {
        String v = new CommandLine(new Main()).getCommandSpec().version()[0];
        return v.substring(v.lastIndexOf(' ') + 1);
    }

    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux") ? "linux" : System.getProperty("os.name").toLowerCase(Locale.ROOT).replace(' ', '_');
        String arch = System.getProperty("os.arch");
        return os + "-" + (arch.equals("amd64") || arch.equals("x86_64") ? "x64" : arch);
    }

    // ---------------------------------------------------------------- modules

    /** The system modules jdeps finds reachable from the command line's main class over the class path. */
    static Set<String> jdepsModules(ToolProvider jdeps, List<Path> classPath) {
        Path mainEntry = classPath.stream()
                .filter(p -> Files.isDirectory(p) ? Files.exists(p.resolve("dagmoe/cli/Main.class")) : p.getFileName().toString().startsWith("experiments"))
                .findFirst().orElseThrow(() -> new CliSupport.BadInput("bundle: dagmoe/cli/Main.class is not on the class path"));
        String cp = classPath.stream().filter(p -> !p.equals(mainEntry)).map(Path::toString).collect(Collectors.joining(File.pathSeparator));
        String printed = runTool(jdeps, "--multi-release", Integer.toString(Runtime.version().feature()), "--ignore-missing-deps",
                "--print-module-deps", "-R", "--class-path", cp, mainEntry.toString());
        return systemModules(printed.lines().reduce((a, b) -> b).orElse(""));
    }

    /** The SDK's jars this JVM resolved at start-up (the boot layer's modules loaded from under the SDK folder). */
    static List<Path> sdkJars(Path sdk) throws IOException {
        Path real = sdk.toRealPath();
        List<Path> out = new ArrayList<>();
        for (java.lang.module.ResolvedModule m : ModuleLayer.boot().configuration().modules()) {
            java.net.URI loc = m.reference().location().orElse(null);
            if (loc == null || !loc.getScheme().equals("file")) continue;
            Path p = Paths.get(loc).toRealPath();
            if (p.startsWith(real) && Files.isRegularFile(p)) out.add(real.relativize(p));
        }
        out.sort(Comparator.naturalOrder());
        return out;
    }

    /** System modules the SDK's resolved modules require, and those its argfile names (--add-exports/--add-opens sources). */
    static Set<String> sdkModules(Path sdk) throws IOException {
        Set<String> sdkNames = new TreeSet<>();
        Path real = sdk.toRealPath();
        StringBuilder names = new StringBuilder();
        for (java.lang.module.ResolvedModule m : ModuleLayer.boot().configuration().modules()) {
            java.net.URI loc = m.reference().location().orElse(null);
            if (loc == null || !loc.getScheme().equals("file") || !Paths.get(loc).toRealPath().startsWith(real)) continue;
            sdkNames.add(m.name());
            for (java.lang.module.ModuleDescriptor.Requires r : m.reference().descriptor().requires()) {
                if (!r.modifiers().contains(java.lang.module.ModuleDescriptor.Requires.Modifier.STATIC)) names.append(r.name()).append(',');
            }
        }
        String[] words = Files.readString(sdk.resolve("tornado-argfile")).split("\\s+");
        for (int i = 0; i + 1 < words.length; i++) {
            if (words[i].equals("--add-exports") || words[i].equals("--add-opens")) names.append(words[i + 1], 0, Math.max(0, words[i + 1].indexOf('/'))).append(',');
            if (words[i].equals("--add-modules")) names.append(words[i + 1]).append(',');
        }
        Set<String> out = systemModules(names.toString());
        out.removeAll(sdkNames); // an upgraded module (the SDK's Graal compiler) comes from the SDK, not the runtime
        return out;
    }

    /** The names in a comma list that are modules of this JDK (the rest are the application's or the SDK's own). */
    private static Set<String> systemModules(String commaList) {
        Set<String> system = ModuleFinder.ofSystem().findAll().stream().map(ModuleReference::descriptor)
                .map(java.lang.module.ModuleDescriptor::name).collect(Collectors.toSet());
        Set<String> out = new TreeSet<>();
        for (String m : commaList.trim().split(",")) if (system.contains(m.trim())) out.add(m.trim());
        return out;
    }

    // ---------------------------------------------------------------- files

    /** Runs a JDK tool in this JVM; its output, or an exception with it when it fails. */
    private static String runTool(ToolProvider tool, String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(buf, true, StandardCharsets.UTF_8);
        int rc = tool.run(ps, ps, args);
        String text = buf.toString(StandardCharsets.UTF_8);
        if (rc != 0) throw new IllegalStateException(tool.name() + " failed (exit " + rc + "): " + text.strip());
        return text;
    }

    /** strip --strip-unneeded on the runtime's shared libraries when binutils is installed (libjvm.so: 24 -> 20 MB). */
    private static void stripNativeSymbols(Path runtime) throws IOException, InterruptedException {
        Path strip = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .map(d -> Paths.get(d, "strip")).filter(Files::isExecutable).findFirst().orElse(null);
        if (strip == null) {
            System.err.println("bundle: no `strip` on PATH (binutils): the runtime's native libraries keep their symbols");
            return;
        }
        List<String> cmd = new ArrayList<>(List.of(strip.toString(), "--strip-unneeded"));
        try (Stream<Path> s = Files.walk(runtime.resolve("lib"))) {
            s.filter(p -> p.toString().endsWith(".so") && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).sorted().forEach(p -> cmd.add(p.toString()));
        }
        exec(cmd, runtime);
    }

    /** The jar a classes folder becomes: experiments/target/classes -> experiments-<version>.jar. */
    static String jarNameOf(Path classes, String version) {
        Path module = classes.getParent() == null ? null : classes.getParent().getParent();
        String base = module == null || module.getFileName() == null ? "classes" : module.getFileName().toString();
        return base + "-" + version + ".jar";
    }

    private static void jarFolder(Path dir, Path jar) throws IOException {
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream jos = new JarOutputStream(os);
             Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile).sorted()::iterator) {
                JarEntry e = new JarEntry(dir.relativize(p).toString().replace(File.separatorChar, '/'));
                e.setTime(Files.getLastModifiedTime(p).toMillis());
                jos.putNextEntry(e);
                Files.copy(p, jos);
                jos.closeEntry();
            }
        }
    }

    /** The SDK's argfile (its path replaced by the placeholder), the jars this JVM resolved, native libraries and etc/. */
    private static void copySdk(Path sdk, Path dest) throws IOException {
        for (String part : new String[] {"lib", "etc"}) {
            if (Files.isDirectory(sdk.resolve(part))) copyTree(sdk.resolve(part), dest.resolve(part));
        }
        for (Path jar : sdkJars(sdk)) {
            Files.createDirectories(dest.resolve(jar.toString()).getParent());
            Files.copy(sdk.toRealPath().resolve(jar), dest.resolve(jar.toString()));
        }
        String argfile = Files.readString(sdk.resolve("tornado-argfile"));
        List<String> forms = new ArrayList<>(List.of(sdk.toString(), sdk.toRealPath().toString()));
        forms.sort(Comparator.comparingInt(String::length).reversed()); // the longer form first: one may contain the other
        for (String form : forms) argfile = argfile.replace(form, SDK_PLACEHOLDER);
        Files.writeString(dest.resolve("tornado-argfile"), argfile);
    }

    private static void copyTree(Path src, Path dest) throws IOException {
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : (Iterable<Path>) s.sorted()::iterator) {
                Path d = dest.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(d);
                else Files.copy(p, d);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(p);
        }
    }

    private void tar(Path staging, String name, Path archive) throws IOException, InterruptedException {
        List<String> cmd = List.of("tar", "--owner=0", "--group=0", "--numeric-owner", "--sort=name",
                format.equals("xz") ? "-cJf" : "-czf", archive.toString(), "-C", staging.toString(), name);
        exec(cmd, staging);
    }

    private static void exec(List<String> cmd, Path dir) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().putIfAbsent("XZ_OPT", "-6 -T0"); // xz preset 6 on all cores (same output for any thread count > 1)
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new CliSupport.BadInput("bundle: cannot run " + cmd.get(0) + " (" + e.getMessage() + ")");
        }
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException(String.join(" ", cmd.subList(0, 2)) + " failed: " + text.strip());
    }

    // ---------------------------------------------------------------- report

    private static String readme(String name, Set<String> modules, boolean tornado) {
        return name + "\n\n"
                + "A self-contained dagmoe: needs no JDK, JAVA_HOME, Maven or network.\n\n"
                + "  bin/dagmoe --help\n"
                + "  bin/dagmoe selftest --backend cpu\n"
                + "  bin/dagmoe train --config configs/quickstart.json\n"
                + (tornado ? "  bin/dagmoe devices\n  bin/dagmoe selftest --backend tornado\n" : "")
                + "\nruntime/: a jlink image with the JDK modules " + String.join(", ", modules) + "\n"
                + "lib/: the dagmoe jars and their dependencies; configs/; corpora/: builtin:europarl"
                + (tornado ? "; tornado/: the TornadoVM SDK (bin/dagmoe adds its options)" : "") + "\n";
    }

    /** Prints the archive's size and, per part, the unpacked sizes and the largest files. */
    private static void report(Path archive, Path root, boolean tornado) throws IOException {
        long size = Files.size(archive);
        int limit = tornado ? TORNADO_LIMIT_MIB : LIMIT_MIB;
        System.err.printf(Locale.ROOT, "bundle: %s: %.1f MiB compressed (limit %d MiB%s)%n", archive.getFileName(), size / 1048576.0, limit,
                size > limit * 1048576L ? ": OVER" : "");
        Map<String, Long> parts = new LinkedHashMap<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : (Iterable<Path>) s.sorted()::iterator) parts.put(p.getFileName().toString(), treeSize(p));
        }
        long total = parts.values().stream().mapToLong(Long::longValue).sum();
        System.err.printf(Locale.ROOT, "bundle: unpacked %.1f MiB:%n", total / 1048576.0);
        for (Map.Entry<String, Long> e : parts.entrySet()) {
            System.err.printf(Locale.ROOT, "  %-11s %7.1f MiB  %s%n", e.getKey() + (Files.isDirectory(root.resolve(e.getKey())) ? "/" : ""), e.getValue() / 1048576.0, largest(root.resolve(e.getKey())));
        }
    }

    private static long treeSize(Path p) throws IOException {
        if (!Files.isDirectory(p)) return Files.size(p);
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        }
    }

    /** The three largest files under p, "name 12.3 MiB". */
    private static String largest(Path p) throws IOException {
        if (!Files.isDirectory(p)) return "";
        try (Stream<Path> s = Files.walk(p)) {
            return s.filter(f -> Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS))
                    .sorted(Comparator.comparingLong((Path f) -> f.toFile().length()).reversed()).limit(3)
                    .map(f -> String.format(Locale.ROOT, "%s %.1f", p.relativize(f), f.toFile().length() / 1048576.0))
                    .collect(Collectors.joining(", "));
        }
    }
}
