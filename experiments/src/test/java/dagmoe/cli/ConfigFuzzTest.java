package dagmoe.cli;

import dagmoe.config.ConfigSchema;
import dagmoe.config.RunConfig;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fuzzing the config reader and {@code --set} parsing: damaged config files, generated JSON trees over the
 * schema's keys, and arbitrary overrides either load or fail as bad input (exit code 2, one "dagmoe:" line
 * naming the file or --set), never an internal error (exit code 1).
 */
class ConfigFuzzTest {
    static Path dir;
    static byte[] valid;
    static List<String> keys;

    @BeforeContainer
    static void setUp() throws Exception {
        dir = Files.createTempDirectory("config-fuzz");
        valid = Files.readAllBytes(CliTestSupport.config(dir, "dag", 4, ""));
        keys = new ArrayList<>(ConfigSchema.keys().keySet());
    }

    @AfterContainer
    static void cleanUp() throws Exception {
        dagmoe.io.AtomicWrite.deleteTree(dir);
    }

    /** Loads a config through the command line's error handling: its exit code and stderr. */
    static int load(Path file, List<String> sets, StringBuilder err) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            return CliSupport.guard(() -> {
                RunConfig c = RunConfig.load(file, sets);
                CliSupport.checkFootprint(c, true);
                return CliSupport.OK;
            });
        } finally {
            System.setErr(old);
            err.append(buf.toString(StandardCharsets.UTF_8));
        }
    }

    static void assertLoadsOrBadInput(Path file, List<String> sets) {
        StringBuilder err = new StringBuilder();
        int code = load(file, sets, err);
        assertTrue(code == 0 || code == 2, "exit " + code + ": " + err);
        if (code == 2) {
            assertEquals(1, err.toString().lines().count(), err.toString());
            String m = err.toString();
            assertTrue(m.startsWith("dagmoe: ") && (m.contains(file.toString()) || m.contains("--set")), m);
        }
    }

    @Provide
    Arbitrary<byte[]> damaged() {
        return Arbitraries.longs().map(seed -> {
            Random r = new Random(seed);
            byte[] b = valid.clone();
            switch (r.nextInt(4)) {
                case 0 -> {
                    for (int i = 1 + r.nextInt(6); i > 0; i--) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
                }
                case 1 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                case 2 -> { // a digit run replaced by a huge, negative or fractional number
                    String s = new String(b, StandardCharsets.UTF_8);
                    String[] nums = {"-1", "0", "2147483648", "1e308", "-1e308", "1.5", "99999999999999999999999", "NaN", "1e-400"};
                    b = s.replaceFirst("\\d+", nums[r.nextInt(nums.length)]).getBytes(StandardCharsets.UTF_8);
                }
                default -> { // a structural character removed or doubled
                    String s = new String(b, StandardCharsets.UTF_8);
                    int i = r.nextInt(s.length());
                    b = (s.substring(0, i) + (r.nextBoolean() ? "" : s.charAt(i) + "" + s.charAt(i)) + s.substring(i + 1))
                            .getBytes(StandardCharsets.UTF_8);
                }
            }
            return b;
        });
    }

    @Property
    void damagedConfigFilesLoadOrAreBadInput(@ForAll("damaged") byte[] bytes) throws Exception {
        Path f = dir.resolve("fuzz.json");
        Files.write(f, bytes);
        assertLoadsOrBadInput(f, List.of());
    }

    @Provide
    Arbitrary<String> values() {
        return Arbitraries.oneOf(
                Arbitraries.integers().map(String::valueOf),
                Arbitraries.longs().map(String::valueOf),
                Arbitraries.doubles().map(String::valueOf),
                Arbitraries.of("true", "false", "null", "\"\"", "\"dag\"", "\"sum\"", "{}", "[]", "[1,2]", "{\"a\": {}}",
                        "\"utf-8\"", "\"latin-1\"", "\"replace\"", "1e999", "-0", "\"\\u0000\""),
                Arbitraries.strings().ofMaxLength(12).map(s -> "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""));
    }

    @Provide
    Arbitrary<String> trees() {
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of(keys), Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8));
        Arbitrary<String> entry = Combinators.combine(key, values()).as((k, v) -> {
            String[] parts = k.split("\\.");
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < parts.length - 1; i++) sb.append('"').append(parts[i]).append("\": {");
            sb.append('"').append(parts[parts.length - 1]).append("\": ").append(v);
            sb.append("}".repeat(parts.length - 1));
            return sb.toString();
        });
        return entry.list().ofMaxSize(6).map(es -> {
            // Entries of one section merge into one object only if unique; duplicates are an error the reader names.
            String data = "\"data\": {\"path\": \"" + dir.resolve("c.txt").toString().replace("\\", "/") + "\"}";
            return "{" + String.join(", ", es) + (es.isEmpty() ? "" : ", ") + data + "}";
        });
    }

    @Property
    void generatedConfigTreesLoadOrAreBadInput(@ForAll("trees") String json) throws Exception {
        Path f = dir.resolve("tree.json");
        Files.writeString(f, json);
        assertLoadsOrBadInput(f, List.of());
    }

    @Provide
    Arbitrary<String> sets() {
        Arbitrary<String> key = Arbitraries.oneOf(Arbitraries.of(keys), Arbitraries.of(keys).map(k -> k + "x"),
                Arbitraries.strings().ofMaxLength(10), Arbitraries.of("data.task_params.hops", "compare.seeds", "", "="));
        Arbitrary<String> raw = Arbitraries.oneOf(values(), Arbitraries.strings().ofMaxLength(10),
                Arbitraries.of("", " 7", "7 ", "0x10", "1_000", "+3", "-", "∞"));
        return Combinators.combine(key, raw, Arbitraries.of("=", "", "==")).as((k, v, eq) -> k + eq + v);
    }

    @Property
    void setOverridesLoadOrAreBadInput(@ForAll("sets") String set) throws Exception {
        Path f = dir.resolve("base.json");
        if (!Files.exists(f)) Files.write(f, valid);
        assertLoadsOrBadInput(f, List.of(set));
    }
}
