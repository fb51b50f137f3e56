package dagmoe.eval;

import dagmoe.data.DataException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TaskFileTest {
    @TempDir Path tmp;

    Path file(String... lines) throws Exception {
        Path f = tmp.resolve("t" + System.nanoTime() + ".jsonl");
        Files.writeString(f, String.join("\n", lines) + "\n");
        return f;
    }

    @Test
    void readsBothKindsSkippingBlankLinesAndExtraFields() throws Exception {
        TaskFile mc = TaskFile.read(file("{\"context\": \"The cat\", \"choices\": [\" sat\", \" flew\"], \"label\": 0, \"id\": 7}", "",
                "{\"context\": \"A\", \"choices\": [\" b\", \" c\", \" d\"], \"label\": 2}"));
        assertEquals(TaskFile.Kind.CHOICE, mc.kind());
        assertEquals(2, mc.examples().size());
        assertEquals(new TaskFile.Example(3, "A", List.of(" b", " c", " d"), 2), mc.examples().get(1));
        TaskFile cl = TaskFile.read(file("{\"context\": \"Call me\", \"target\": \" Ishmael\"}"));
        assertEquals(TaskFile.Kind.CLOZE, cl.kind());
        assertEquals(List.of(" Ishmael"), cl.examples().get(0).choices());
    }

    @Test
    void everyBadLineIsNamed() throws Exception {
        String ok = "{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": 1}";
        String[][] cases = {
                {"{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": 2}", ":2: \"label\" must be an integer in [0, 2)"},
                {"{\"context\": \"a\", \"choices\": [\" b\"], \"label\": 0}", ":2: \"choices\" must be a list of at least 2 strings"},
                {"{\"context\": \"a\", \"choices\": [\" b\", 3], \"label\": 0}", ":2: \"choices\" must hold non-empty strings"},
                {"{\"context\": \"\", \"choices\": [\" b\", \" c\"], \"label\": 0}", ":2: \"context\" must be a non-empty string"},
                {"{\"context\": \"a\", \"target\": \" b\"}", ":2: a cloze example in a multiple-choice file (line 1)"},
                {"{\"context\": \"a\"}", ":2: needs either \"choices\" and \"label\""},
                {"{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": \"0\"}", ":2: \"label\" must be an integer"},
                {"{\"context\": \"a\", \"choices\": [\" b\", \" c\"],", ":2: not valid JSON"},
                {"[1, 2]", ":2: must be a JSON object"},
        };
        for (String[] c : cases) {
            Path f = file(ok, c[0]);
            DataException e = assertThrows(DataException.class, () -> TaskFile.read(f), c[0]);
            assertTrue(e.getMessage().startsWith(f + c[1]), "expected '" + f + c[1] + "' in: " + e.getMessage());
        }
        assertTrue(assertThrows(DataException.class, () -> TaskFile.read(file("", " "))).getMessage().endsWith(": no examples"));
        assertTrue(assertThrows(DataException.class, () -> TaskFile.read(tmp.resolve("none.jsonl"))).getMessage().endsWith("task file not found"));
    }
}
