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
        Files.createDirectories(c.dir().resolve(".tmp-" + Checkpoints.folderName(20)));
        Path broken = Files.createDirectories(c.dir().resolve(Checkpoints.folderName(30)));
        Files.copy(c.dir().resolve(Checkpoints.folderName(10)).resolve(Checkpoints.MODEL_FILE), broken.resolve(Checkpoints.MODEL_FILE));
        Files.copy(c.dir().resolve(Checkpoints.folderName(10)).resolve(Checkpoints.OPTIMIZER_FILE), broken.resolve(Checkpoints.OPTIMIZER_FILE));
        Files.writeString(broken.resolve(Checkpoints.STATE_FILE), "{\"step\": 3");
        assertEquals(c.dir().resolve(Checkpoints.folderName(10)), c.latest().orElseThrow());
        c.cleanTemporaries();
        assertFalse(Files.exists(c.dir().resolve(".tmp-" + Checkpoints.folderName(20))));
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
}
