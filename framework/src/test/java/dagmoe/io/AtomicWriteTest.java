package dagmoe.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class AtomicWriteTest {
    @TempDir Path tmp;

    private List<String> names(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void replacesTheFileWholeAndLeavesNoTemporary() throws Exception {
        Path f = tmp.resolve("sub").resolve("report.md");
        AtomicWrite.writeString(f, "first");
        AtomicWrite.writeString(f, "second, longer");
        assertEquals("second, longer", Files.readString(f));
        assertEquals(List.of("report.md"), names(f.getParent()));
    }

    @Test
    void aFailingWriterKeepsTheOldFileAndRemovesItsTemporary() throws Exception {
        Path f = tmp.resolve("summary.json");
        AtomicWrite.writeString(f, "old");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicWrite.write(f, 0, out -> {
            out.write("half".getBytes());
            throw new IOException("No space left on device");
        }));
        assertTrue(e.getMessage().startsWith("cannot write " + f + ": No space left on device ("), e.getMessage());
        assertTrue(e.getMessage().contains("bytes free") && e.getMessage().contains("partial file was removed"), e.getMessage());
        assertEquals("old", Files.readString(f));
        assertEquals(List.of("summary.json"), names(tmp));
    }

    @Test
    void errorsKeepTheOperatingSystemsReason() throws Exception {
        Path file = tmp.resolve("plain");
        Files.writeString(file, "x");
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> AtomicWrite.writeString(file.resolve("a.json"), "{}"));
        assertTrue(e.getMessage().contains("cannot create folder " + file) && e.getMessage().contains("exists and is not a folder"),
                e.getMessage());
        Path ro = Files.createDirectory(tmp.resolve("ro"));
        if (ro.toFile().setWritable(false) && !Files.isWritable(ro)) { // not when tests run as root
            e = assertThrows(UncheckedIOException.class, () -> AtomicWrite.writeString(ro.resolve("a.json"), "{}"));
            assertTrue(e.getMessage().contains("permission denied"), e.getMessage());
            ro.toFile().setWritable(true);
        }
        // A directory in the way of the rename: the move fails, it is an error, not a fallback copy.
        Path dirInWay = Files.createDirectories(tmp.resolve("taken").resolve("inner"));
        e = assertThrows(UncheckedIOException.class, () -> AtomicWrite.writeString(dirInWay.getParent(), "x"));
        assertTrue(e.getMessage().startsWith("cannot replace " + dirInWay.getParent() + " atomically"), e.getMessage());
    }

    @Test
    void cleanupRemovesOwnAndOrphanedTemporariesOnly() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        long parent = ProcessHandle.current().parent().orElseThrow().pid();
        Path own = tmp.resolve(".a.json.tmp-" + AtomicWrite.pid() + "-7");
        Path orphan = tmp.resolve(".b.json.tmp-" + gone.pid() + "-1");
        Path living = tmp.resolve(".c.json.tmp-" + parent + "-1");
        for (Path p : List.of(own, orphan, living)) Files.writeString(p, "partial");
        Files.writeString(tmp.resolve("keep.json"), "{}");
        assertEquals(2, AtomicWrite.cleanTemporaries(tmp));
        assertEquals(List.of(living.getFileName().toString(), "keep.json"), names(tmp));
    }

    @Test
    void temporariesAreUniquePerProcessAndCall() {
        Path f = tmp.resolve("x");
        Path a = AtomicWrite.tempFor(f), b = AtomicWrite.tempFor(f);
        assertNotEquals(a, b);
        assertTrue(a.getFileName().toString().startsWith(".x.tmp-" + ProcessHandle.current().pid() + "-"));
    }

    @Test
    void aSecondLockOnAFolderIsRefusedNamingTheHolder() {
        try (RunLock held = RunLock.acquire(tmp)) {
            RunFolderInUseException e = assertThrows(RunFolderInUseException.class, () -> RunLock.acquire(tmp));
            assertTrue(e.getMessage().startsWith("run folder " + tmp + " is in use by process " + AtomicWrite.pid() + " since "),
                    e.getMessage());
            assertNotNull(RunLock.heldBy(tmp));
        }
        assertNull(RunLock.heldBy(tmp));
        RunLock.acquire(tmp).close(); // free again
    }
}
