package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one run: {@code <run>/checkpoints/step-NNNNNNN/} holding {@code model.safetensors},
 * {@code optimizer.safetensors} ({@code m.<name>}, {@code v.<name>}) and {@code state.json}.
 *
 * <p>Crash safety: a checkpoint is written into {@code checkpoints/.tmp-step-NNNNNNN}, every file is
 * forced to disk, and the folder is then renamed to its final name with an atomic move. A checkpoint
 * is complete only if its final folder exists and its {@code state.json} parses; the latest one is
 * found by scanning the step folders (there is no pointer file that could disagree with them).
 */
public final class Checkpoints {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    /**
     * Test hook for crash tests: when this system property is the step being saved, the writer announces
     * {@link #PAUSE_MARKER} on stderr after writing the model file into the temporary folder and sleeps (the
     * test kills the process there).
     */
    public static final String PAUSE_PROPERTY = "dagmoe.test.checkpointPauseAtStep";
    public static final String PAUSE_MARKER = "dagmoe-test: checkpoint write paused";

    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{7,})");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public Checkpoints(Path runDir) {
        this.dir = runDir.resolve("checkpoints");
    }

    public Path dir() {
        return dir;
    }

    public static String folderName(long step) {
        return String.format("step-%07d", step);
    }

    /** A complete checkpoint read back: its tensors and state. */
    public record Loaded(Path folder, long step, Map<String, Safetensors.Tensor> model,
                         Map<String, Safetensors.Tensor> optimizer, JsonNode state) {}

    /**
     * Writes the checkpoint of {@code step} atomically, then deletes all but the newest {@code keep}
     * complete checkpoints (keep <= 0 keeps all).
     */
    public Path save(long step, Map<String, Safetensors.Tensor> model, Map<String, Safetensors.Tensor> optimizer,
                     ObjectNode state, int keep) {
        try {
            Files.createDirectories(dir);
            Path fin = dir.resolve(folderName(step));
            Path tmp = dir.resolve(".tmp-" + folderName(step));
            deleteTree(tmp); // a leftover of a crash during this very step
            Files.createDirectories(tmp);

            Safetensors.write(tmp.resolve(MODEL_FILE), model, Map.of("format", "pt", "step", Long.toString(step)));
            pauseForCrashTest(step);
            Safetensors.write(tmp.resolve(OPTIMIZER_FILE), optimizer, Map.of("step", Long.toString(step)));
            Path stateFile = tmp.resolve(STATE_FILE);
            Files.write(stateFile, JSON.writeValueAsBytes(state));
            force(stateFile);
            force(tmp);

            if (Files.exists(fin)) {
                // Re-saving a step (a resumed run stopping at the step it resumed from): swap the old one out first.
                Path old = dir.resolve(".old-" + folderName(step));
                deleteTree(old);
                move(fin, old);
                move(tmp, fin);
                deleteTree(old);
            } else {
                move(tmp, fin);
            }
            force(dir);
            prune(keep);
            return fin;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write checkpoint " + step + " in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to);
        }
    }

    private static void pauseForCrashTest(long step) {
        String at = System.getProperty(PAUSE_PROPERTY);
        if (at == null || Long.parseLong(at) != step) return;
        System.err.println(PAUSE_MARKER);
        System.err.flush();
        try {
            Thread.sleep(120_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Forces a file's (or, where the platform allows, a folder's) content to disk. */
    private static void force(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // Folders cannot be opened on every platform; the rename is still atomic.
        }
    }

    /** Steps of the complete checkpoints, ascending. */
    public List<Long> completeSteps() {
        List<Long> steps = new ArrayList<>();
        if (!Files.isDirectory(dir)) return steps;
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                Matcher m = STEP_DIR.matcher(p.getFileName().toString());
                if (m.matches() && isComplete(p)) steps.add(Long.parseLong(m.group(1)));
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        steps.sort(Comparator.naturalOrder());
        return steps;
    }

    private static boolean isComplete(Path folder) {
        if (!Files.isRegularFile(folder.resolve(MODEL_FILE)) || !Files.isRegularFile(folder.resolve(OPTIMIZER_FILE))) {
            return false;
        }
        try {
            JsonNode state = JSON.readTree(folder.resolve(STATE_FILE).toFile());
            return state != null && state.has("step");
        } catch (IOException e) {
            return false;
        }
    }

    /** The newest complete checkpoint folder, if any. */
    public Optional<Path> latest() {
        List<Long> steps = completeSteps();
        return steps.isEmpty() ? Optional.empty() : Optional.of(dir.resolve(folderName(steps.get(steps.size() - 1))));
    }

    /** Reads a checkpoint folder; problems are {@link CheckpointException}s naming the file. */
    public static Loaded load(Path folder) {
        Path stateFile = folder.resolve(STATE_FILE);
        JsonNode state;
        try {
            state = JSON.readTree(stateFile.toFile());
        } catch (IOException e) {
            throw new CheckpointException(stateFile + ": cannot read (" + e.getMessage() + ")");
        }
        if (state == null || !state.has("step")) throw new CheckpointException(stateFile + ": no 'step' field");
        var model = Safetensors.read(folder.resolve(MODEL_FILE)).tensors();
        var optimizer = Safetensors.read(folder.resolve(OPTIMIZER_FILE)).tensors();
        return new Loaded(folder, state.get("step").asLong(), model, optimizer, state);
    }

    private void prune(int keep) throws IOException {
        if (keep <= 0) return;
        List<Long> steps = completeSteps();
        for (int i = 0; i < steps.size() - keep; i++) deleteTree(dir.resolve(folderName(steps.get(i))));
    }

    /** Removes leftovers of interrupted writes ({@code .tmp-*}, {@code .old-*}). */
    public void cleanTemporaries() {
        if (!Files.isDirectory(dir)) return;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                if (n.startsWith(".tmp-") || n.startsWith(".old-")) deleteTree(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(q);
        }
    }
}
