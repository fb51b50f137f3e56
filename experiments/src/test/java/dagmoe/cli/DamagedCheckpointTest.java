package dagmoe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.train.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * 64 flipped bytes inside a checkpoint's tensor data (the probe that once trained on weights gone from 0.012
 * to -364): eval, generate and verify exit 2 naming the file and tensor; --resume says so in one line and
 * continues from the newest good checkpoint, bit-identical to an uninterrupted run; --strict stops.
 */
class DamagedCheckpointTest {
    @TempDir Path tmp;

    /** Flips 64 bytes in the middle of {@code tensor}'s data. */
    static void flip64(Path file, String tensor) throws Exception {
        byte[] all = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonNode h = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8).trim());
        long begin = h.get(tensor).get("data_offsets").get(0).asLong(), end = h.get(tensor).get("data_offsets").get(1).asLong();
        assertTrue(end - begin >= 64);
        int at = (int) (8 + n + (begin + end) / 2 - 32);
        for (int i = 0; i < 64; i++) all[at + i] ^= (byte) 0xa5;
        Files.write(file, all);
    }

    @Test
    void flippedBytesAreNamedAndResumeFallsBack() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 20, "");
        Path straight = tmp.resolve("straight"), run = tmp.resolve("run");
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", straight.toString()));
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", run.toString(), "--until", "15"));
        Path latest = new Checkpoints(run).latest().orElseThrow();
        Path model = latest.resolve(Checkpoints.MODEL_FILE);
        flip64(model, "tok_emb");
        String named = model + ": tensor tok_emb is damaged";

        for (String[] args : new String[][]{{"eval", "--run", run.toString()},
                {"generate", "--run", run.toString(), "--prompt", "the", "--tokens", "3"},
                {"train", "--out", run.toString(), "--resume", "--strict"}}) {
            StringBuilder err = new StringBuilder();
            assertEquals(2, TrainCommandTest.run(err, args), String.join(" ", args) + ": " + err);
            assertTrue(err.toString().contains(named), err.toString());
            assertEquals(1, err.toString().lines().count(), "one line: " + err);
        }
        int[] code = new int[1];
        String report = EvalGenerateTest.stdout(code, "verify", run.toString());
        assertEquals(2, code[0]);
        assertTrue(report.contains("checkpoints/step-0000015: DAMAGED: " + named), report);
        assertTrue(report.contains("checkpoints/step-0000010: ok"), report);

        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", run.toString(), "--resume"));
        List<String> lines = err.toString().lines().toList();
        assertEquals(1, lines.size(), err.toString());
        assertTrue(lines.get(0).startsWith("dagmoe: checkpoint step-0000015 is damaged (" + named)
                && lines.get(0).endsWith("resuming from step-0000010 instead"), lines.get(0));
        TrainCommandTest.assertIdentical(straight, run);
        assertEquals(0, TrainCommandTest.run(null, "verify", run.toString()));
        assertEquals(0, TrainCommandTest.run(null, "verify", tmp.toString()), "a folder of runs");
    }
}
