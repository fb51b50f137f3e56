package dagmoe.config.field;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The declarations of a small section record, and everything derived from them. */
class FieldsTest {

    enum Mode {
        FAST("fast"), SLOW("slow");
        private final String key;
        Mode(String key) { this.key = key; }
        @Override public String toString() { return key; }
    }

    @Section("opt")
    record Opt(
            @Field(key = "steps", def = "10", min = 1, max = 100, help = "steps") int steps,
            @Field(key = "inner.rate", def = "0.5", gt = 0, max = 1, help = "rate") double rate,
            @Field(key = "mode", def = "slow", help = "mode") Mode mode,
            @Field(key = "name", def = "null", nullable = true, choices = {"a", "b"}, help = "name") String name,
            @Field(key = "seed", def = "3", min = 0, help = "seed") long seed,
            @Field(key = "params", def = "{\"x\": 1}", help = "params") JsonNode params) {
        Opt {
            if (steps > 50 && rate > 0.9) throw new IllegalArgumentException("opt.inner.rate = " + rate + ": must be <= 0.9 when steps > 50");
        }
    }

    @Test
    void keysComeFromTheDeclarations() {
        List<Key> keys = Fields.of(Opt.class);
        assertEquals(List.of("opt.steps", "opt.inner.rate", "opt.mode", "opt.name", "opt.seed", "opt.params"),
                keys.stream().map(Key::path).toList());
        assertEquals(List.of(Key.Type.INT, Key.Type.DOUBLE, Key.Type.ENUM, Key.Type.ENUM, Key.Type.LONG, Key.Type.OBJECT),
                keys.stream().map(Key::type).toList());
        assertEquals(List.of("fast", "slow"), keys.get(2).choices());
        assertEquals("> 0, <= 1", keys.get(1).rangeText());
        assertEquals(">= 1, <= 100", keys.get(0).rangeText());
        assertEquals("rate", keys.get(1).component());
        assertEquals("inner.rate", keys.get(1).key());
        assertEquals("opt", Fields.section(Opt.class));
    }

    @Test
    void defaultsBuildersAndValues() {
        Opt d = Fields.defaults(Opt.class);
        assertEquals(10, d.steps());
        assertEquals(0.5, d.rate());
        assertEquals(Mode.SLOW, d.mode());
        assertNull(d.name());
        assertEquals(3L, d.seed());
        assertEquals(1, d.params().get("x").asInt());

        Opt o = Fields.builder(d).set("steps", 20).set("inner.rate", 1).set("mode", "fast").set("name", "b").set("seed", 9).build();
        assertEquals(new Opt(20, 1.0, Mode.FAST, "b", 9L, d.params()), o);
        assertEquals(Map.of("opt.steps", 20, "opt.inner.rate", 1.0, "opt.mode", "fast", "opt.name", "b", "opt.seed", 9L,
                "opt.params", d.params()), Fields.values(o));
        assertEquals(o, Fields.build(Opt.class, Fields.values(o)));
        assertEquals(Mode.SLOW, Fields.builder(o).set("mode", Mode.SLOW).build().mode());
    }

    @Test
    void everyViolationNamesTheKeyAndTheRule() {
        record Case(String key, Object value, String expected) {}
        for (Case c : List.of(
                new Case("steps", 0, "opt.steps = 0: must be >= 1"),
                new Case("steps", 101, "opt.steps = 101: must be <= 100"),
                new Case("inner.rate", 0.0, "opt.inner.rate = 0.0: must be > 0"),
                new Case("inner.rate", Double.NaN, "opt.inner.rate = NaN: must be a finite number"),
                new Case("mode", "medium", "opt.mode = medium: must be one of fast, slow"),
                new Case("name", "c", "opt.name = c: must be one of a, b"),
                new Case("steps", "ten", "opt.steps = ten: must be int, not String"),
                new Case("stepz", 3, "no key stepz in section opt"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Fields.builder(Opt.class).set(c.key(), c.value()).build(), c.toString());
            assertEquals(c.expected(), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Fields.builder(Opt.class).set("steps", 60).set("inner.rate", 0.95).build());
        assertEquals("opt.inner.rate = 0.95: must be <= 0.9 when steps > 50", e.getMessage(), "the record's own rule between keys");
        e = assertThrows(IllegalArgumentException.class, () -> Fields.build(Opt.class, Map.of("opt.steps", -1)));
        assertEquals("opt.steps = -1: must be >= 1", e.getMessage());
    }

    @Test
    void jsonAndCommandLineParsing() throws Exception {
        ObjectMapper json = new ObjectMapper();
        Key steps = Fields.of(Opt.class).get(0), rate = Fields.of(Opt.class).get(1), name = Fields.of(Opt.class).get(3);
        assertEquals(7, steps.fromJson(json.readTree("7")));
        assertEquals(7, steps.parse(" 7"));
        assertEquals(0.25, rate.parse("0.25"));
        assertEquals(1.0, rate.fromJson(json.readTree("1")));
        assertNull(name.parse("null"));
        assertNull(name.fromJson(json.readTree("null")));
        assertEquals("must be an integer", assertThrows(IllegalArgumentException.class, () -> steps.fromJson(json.readTree("2.5"))).getMessage());
        assertEquals("must be an integer", assertThrows(IllegalArgumentException.class, () -> steps.parse("ten")).getMessage());
        assertEquals("must be a number", assertThrows(IllegalArgumentException.class, () -> rate.fromJson(json.readTree("\"x\""))).getMessage());
        assertEquals("must not be null", assertThrows(IllegalArgumentException.class, () -> steps.fromJson(json.readTree("null"))).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> rate.parse("2")).getMessage().contains("<= 1"));
    }

    @Section("bad")
    record BadDefault(@Field(key = "n", def = "0", min = 1, help = "n") int n) {}

    @Test
    void aDefaultOutsideItsRangeIsADeclarationError() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Fields.of(BadDefault.class));
        assertEquals("bad.n: default 0: must be >= 1", e.getMessage());
    }
}
