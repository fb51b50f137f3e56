package dagmoe.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointsTest {
    @TempDir Path run;

    private static Map<String, Safetensors.Tensor> tensors(float v) {
        return Map.of("w", new Safetensors.Tensor(new int[]{2}, new float[]{v, -v}));
    }

    private static ObjectNode state(long step) {
        return new ObjectMapper().createObjectNode().put("step", step);
    }

    @Test
    void keepsTheLastNAndFindsLatest() {
        Checkpoints c = new Checkpoints(run);
        for (int s = 5; s <= 25; s += 5) c.save(s, tensors(s), tensors(-s), state(s), 2);
        assertEquals(List.of(20L, 25L), c.completeSteps());
        Checkpoints.Loaded l = Checkpoints.load(c.latest().orElseThrow());
        assertEquals(25, l.step());
        assertEquals(25f, l.model().get("w").data()[0]);
        assertEquals(-25f, l.optimizer().get("w").data()[0]);
    }

    @Test
    void partialFoldersAreNeverLatest() throws Exception {
        Checkpoints c = new Checkpoints(run);
        c.save(10, tensors(1), tensors(1), state(10), 0);
        // A crash mid-write leaves a temporary folder; a folder with a broken state.json is not complete either.
        Path dead = c.dir().resolve(".tmp-" + Checkpoints.folderName(20) + "-" + deadPid());
        Path alive = c.dir().resolve(".tmp-" + Checkpoints.folderName(20) + "-" + ProcessHandle.current().parent().orElseThrow().pid());
        Files.createDirectories(dead);
        Files.createDirectories(alive);
        Path broken = Files.createDirectories(c.dir().resolve(Checkpoints.folderName(30)));
        Files.copy(c.dir().resolve(Checkpoints.folderName(10)).resolve(Checkpoints.MODEL_FILE), broken.resolve(Checkpoints.MODEL_FILE));
        Files.copy(c.dir().resolve(Checkpoints.folderName(10)).resolve(Checkpoints.OPTIMIZER_FILE), broken.resolve(Checkpoints.OPTIMIZER_FILE));
        Files.writeString(broken.resolve(Checkpoints.STATE_FILE), "{\"step\": 3");
        assertEquals(c.dir().resolve(Checkpoints.folderName(10)), c.latest().orElseThrow());
        // ... but it is not skipped silently: resume names it, and eval/generate load the newest folder and fail.
        List<String> warned = new java.util.ArrayList<>();
        assertEquals(10, c.newestGood(false, warned::add).orElseThrow().step());
        assertEquals(1, warned.size());
        assertTrue(warned.get(0).startsWith("checkpoint step-0000030 is damaged (" + broken.resolve(Checkpoints.STATE_FILE)), warned.get(0));
        assertEquals(broken, c.newest().orElseThrow());
        c.cleanTemporaries();
        assertFalse(Files.exists(dead), "a temporary whose process is gone is removed");
        assertTrue(Files.exists(alive), "another living process's temporary is left alone");
    }

    @Test
    void resavingAStepReplacesIt() {
        Checkpoints c = new Checkpoints(run);
        c.save(10, tensors(1), tensors(1), state(10), 0);
        c.save(10, tensors(2), tensors(2), state(10), 0);
        assertEquals(2f, Checkpoints.load(c.latest().orElseThrow()).model().get("w").data()[0]);
    }

    @Test
    void loadOfAMissingFolderIsACheckpointException() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(run.resolve("nope")));
        assertTrue(e.getMessage().contains("state.json"));
    }

    /** A process id that no living process has. */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }

    private static void flip(Path file, long at) throws Exception {
        byte[] b = Files.readAllBytes(file);
        for (int i = 0; i < 64; i++) b[(int) at + i] ^= (byte) 0x5a;
        Files.write(file, b);
    }

    private static Map<String, Safetensors.Tensor> big(float v) {
        float[] d = new float[64];
        java.util.Arrays.fill(d, v);
        return Map.of("w", new Safetensors.Tensor(new int[]{64}, d));
    }

    @Test
    void damagedDataIsACheckpointExceptionNamingFileAndTensor() throws Exception {
        Checkpoints c = new Checkpoints(run);
        Path f = c.save(5, big(0.012f), big(1), state(5), 0);
        Path model = f.resolve(Checkpoints.MODEL_FILE);
        flip(model, SafetensorsTest.dataOffset(model, "w") + 16);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoints.load(f));
        assertTrue(e.getMessage().contains(model + ": tensor w is damaged"), e.getMessage());

        // Damage outside any tensor's data (the header's padding) is caught by the file checksum.
        Path g = c.save(10, big(1), big(1), state(10), 0).resolve(Checkpoints.OPTIMIZER_FILE);
        byte[] b = Files.readAllBytes(g);
        int pad = (int) (8 + java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong()) - 1;
        assertEquals(' ', b[pad]);
        b[pad] = '\t';
        Files.write(g, b);
        e = assertThrows(CheckpointException.class, () -> Checkpoints.load(g.getParent()));
        assertTrue(e.getMessage().contains(g + ": damaged: its CRC32C is"), e.getMessage());
        // A missing checksums.json in a checkpoint of the current format is damage too.
        Path h = c.save(15, big(1), big(1), state(15), 0);
        Files.delete(h.resolve(Checkpoints.CHECKSUMS_FILE));
        assertThrows(CheckpointException.class, () -> Checkpoints.load(h));
    }

    @Test
    void newestGoodFallsBackWithOneLineOrStopsWhenStrict() throws Exception {
        Checkpoints c = new Checkpoints(run);
        c.save(5, big(5), big(5), state(5), 0);
        Path ten = c.save(10, big(10), big(10), state(10), 0);
        Path model = ten.resolve(Checkpoints.MODEL_FILE);
        flip(model, SafetensorsTest.dataOffset(model, "w"));
        List<String> warned = new java.util.ArrayList<>();
        Checkpoints.Loaded l = c.newestGood(false, warned::add).orElseThrow();
        assertEquals(5, l.step());
        assertEquals(1, warned.size());
        assertTrue(warned.get(0).startsWith("checkpoint step-0000010 is damaged (") && warned.get(0).endsWith(
                "resuming from step-0000005 instead"), warned.get(0));
        CheckpointException e = assertThrows(CheckpointException.class, () -> c.newestGood(true, warned::add));
        assertTrue(e.getMessage().contains("step-0000010") && e.getMessage().contains("--strict"), e.getMessage());
        // Re-saving the damaged step replaces it.
        c.save(10, big(11), big(11), state(10), 0);
        assertEquals(11f, Checkpoints.load(ten).model().get("w").data()[0]);
        flip(model, SafetensorsTest.dataOffset(model, "w"));
        Path five = c.dir().resolve(Checkpoints.folderName(5));
        flip(five.resolve(Checkpoints.MODEL_FILE), SafetensorsTest.dataOffset(five.resolve(Checkpoints.MODEL_FILE), "w"));
        e = assertThrows(CheckpointException.class, () -> c.newestGood(false, x -> {}));
        assertTrue(e.getMessage().contains("every checkpoint is damaged"), e.getMessage());
        assertTrue(new Checkpoints(run.resolve("none")).newestGood(true, x -> {}).isEmpty());
    }

    @Test
    void pruningLeavesNoHalfDeletedFolderAndCrashedSwapsAreRestored() throws Exception {
        Checkpoints c = new Checkpoints(run);
        for (int s = 5; s <= 15; s += 5) c.save(s, tensors(s), tensors(s), state(s), 1);
        try (var s = Files.list(c.dir())) {
            assertEquals(List.of(Checkpoints.folderName(15)), s.map(p -> p.getFileName().toString()).toList());
        }
        // A crash after the old copy of a re-saved step moved away but before the new one moved in: put back.
        Files.move(c.dir().resolve(Checkpoints.folderName(15)), c.dir().resolve(".old-" + Checkpoints.folderName(15)));
        Files.createDirectories(c.dir().resolve(".del-" + Checkpoints.folderName(10)));
        assertEquals(List.of(), c.completeSteps());
        c.cleanTemporaries();
        assertEquals(List.of(15L), c.completeSteps());
        assertFalse(Files.exists(c.dir().resolve(".del-" + Checkpoints.folderName(10))));
    }
}
