package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.io.AtomicWrite;
import dagmoe.io.Checksums;
import dagmoe.io.CrashPoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The checkpoints of one run: {@code <run>/checkpoints/step-NNNNNNN/} holding {@code model.safetensors},
 * {@code optimizer.safetensors} ({@code m.<name>}, {@code v.<name>}), {@code state.json} and
 * {@code checksums.json} (size and CRC32C of the other three).
 *
 * <p>Integrity: every tensor's CRC32C is in its file's {@code __metadata__} and every file's in
 * {@code checksums.json}; {@link #load} checks both, so damaged data is a {@link CheckpointException} naming
 * the file and tensor, never weights silently trained on.
 *
 * <p>Crash safety: a checkpoint is written into {@code checkpoints/.tmp-step-NNNNNNN-PID}, every file forced
 * to disk, and the folder is then renamed to its final name with an atomic move (no fallback). Pruning
 * renames an old checkpoint to {@code .del-step-NNNNNNN} before deleting it, so a kill mid-prune leaves no
 * half-deleted step folder; {@link #cleanTemporaries} removes such leftovers at the next start. A
 * checkpoint is complete only if its final folder exists and its {@code state.json} parses; the latest one
 * is found by scanning the step folders (no pointer file that could disagree with them).
 */
public final class Checkpoints {
    public static final String MODEL_FILE = "model.safetensors";
    public static final String OPTIMIZER_FILE = "optimizer.safetensors";
    public static final String STATE_FILE = "state.json";
    public static final String CHECKSUMS_FILE = "checksums.json";
    /** state.json "format" of checkpoints that carry checksums.json. */
    public static final String FORMAT = "dagmoe-checkpoint-2";

    private static final Pattern STEP_DIR = Pattern.compile("step-(\\d{7,})");
    /** {@code .tmp-step-N-PID}: a checkpoint being written by process PID. */
    private static final Pattern TMP_DIR = Pattern.compile("\\.tmp-step-\\d{7,}-(\\d+)");
    /** {@code .old-step-N}: the previous copy of a step being re-saved. */
    private static final Pattern OLD_DIR = Pattern.compile("\\.old-(step-\\d{7,})");
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
     * complete checkpoints (keep <= 0 keeps all). A full disk is reported with the bytes the checkpoint
     * needs and the bytes free, and its temporary folder is removed.
     */
    public Path save(long step, Map<String, Safetensors.Tensor> model, Map<String, Safetensors.Tensor> optimizer,
                     ObjectNode state, int keep) {
        Path fin = dir.resolve(folderName(step));
        Path tmp = dir.resolve(".tmp-" + folderName(step) + "-" + AtomicWrite.pid());
        long needed = Safetensors.bytesOf(model) + Safetensors.bytesOf(optimizer);
        try {
            Files.createDirectories(dir);
            AtomicWrite.deleteTree(tmp); // a leftover of this process (a failed earlier attempt)
            Files.createDirectories(tmp);
            Safetensors.write(tmp.resolve(MODEL_FILE), model, Map.of("format", "pt", "step", Long.toString(step)));
            CrashPoint.reach("checkpoint-model", step);
            Safetensors.write(tmp.resolve(OPTIMIZER_FILE), optimizer, Map.of("step", Long.toString(step)));
            AtomicWrite.writeBytes(tmp.resolve(STATE_FILE), JSON.writeValueAsBytes(state.put("format", FORMAT)));
            ObjectNode sums = JSON.createObjectNode().put("algorithm", "crc32c");
            ObjectNode files = sums.putObject("files");
            for (String f : List.of(MODEL_FILE, OPTIMIZER_FILE, STATE_FILE)) {
                Path p = tmp.resolve(f);
                files.putObject(f).put("bytes", Files.size(p)).put("crc32c", Checksums.ofFile(p));
            }
            AtomicWrite.writeBytes(tmp.resolve(CHECKSUMS_FILE), JSON.writeValueAsBytes(sums));
            AtomicWrite.forceFolder(tmp);
            CrashPoint.reach("checkpoint-rename", step);
            if (Files.exists(fin)) {
                // Re-saving a step (a run resumed from before a damaged checkpoint): swap the old one out first.
                Path old = dir.resolve(".old-" + folderName(step));
                AtomicWrite.deleteTree(old);
                AtomicWrite.move(fin, old);
                AtomicWrite.move(tmp, fin);
                AtomicWrite.deleteTree(old);
            } else {
                AtomicWrite.move(tmp, fin);
            }
        } catch (IOException | UncheckedIOException e) {
            try {
                AtomicWrite.deleteTree(tmp);
            } catch (IOException ignored) {
                // the write failure is what matters
            }
            IOException io = e instanceof IOException i ? i : ((UncheckedIOException) e).getCause();
            throw AtomicWrite.failure("cannot write checkpoint " + step + " in " + dir, io, dir, needed);
        }
        try {
            prune(keep);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot remove old checkpoints in " + dir, e);
        }
        return fin;
    }

    /** Steps of the complete checkpoints, ascending. */
    public List<Long> completeSteps() {
        return steps(Checkpoints::isComplete);
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

    /**
     * Steps of every {@code step-N} folder, complete or not, ascending. A crash never leaves an incomplete one
     * (the folder is renamed into place whole), so an incomplete one is damage.
     */
    public List<Long> allSteps() {
        return steps(Files::isDirectory);
    }

    /** Steps of the {@code step-N} entries that {@code keep} accepts, ascending. */
    private List<Long> steps(java.util.function.Predicate<Path> keep) {
        List<Long> steps = new ArrayList<>();
        if (!Files.isDirectory(dir)) return steps;
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                Matcher m = STEP_DIR.matcher(p.getFileName().toString());
                if (m.matches() && keep.test(p)) steps.add(Long.parseLong(m.group(1)));
            });
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot list " + dir, e);
        }
        steps.sort(Comparator.naturalOrder());
        return steps;
    }

    /** The newest step folder, complete or not (eval and generate load it, so damage is reported, not skipped). */
    public Optional<Path> newest() {
        List<Long> steps = allSteps();
        return steps.isEmpty() ? Optional.empty() : Optional.of(dir.resolve(folderName(steps.get(steps.size() - 1))));
    }

    /** The newest complete checkpoint folder, if any (not verified: {@link #load} does that). */
    public Optional<Path> latest() {
        List<Long> steps = completeSteps();
        return steps.isEmpty() ? Optional.empty() : Optional.of(dir.resolve(folderName(steps.get(steps.size() - 1))));
    }

    /**
     * The newest checkpoint that loads and verifies. A damaged newer one is reported to {@code warn} in one
     * line naming it, the problem and the checkpoint used instead; with {@code strict} it is a
     * {@link CheckpointException} instead. Empty when the run has no checkpoint at all; every checkpoint
     * damaged is a CheckpointException.
     */
    public Optional<Loaded> newestGood(boolean strict, Consumer<String> warn) {
        List<Long> steps = allSteps();
        List<String> damaged = new ArrayList<>();
        for (int i = steps.size() - 1; i >= 0; i--) {
            Path folder = dir.resolve(folderName(steps.get(i)));
            try {
                Loaded l = load(folder);
                for (String d : damaged) warn.accept(d + "; resuming from " + folder.getFileName() + " instead");
                return Optional.of(l);
            } catch (CheckpointException e) {
                if (strict) {
                    throw new CheckpointException("checkpoint " + folder.getFileName() + " is damaged: " + e.getMessage()
                            + " (--strict: not falling back to an older checkpoint)");
                }
                damaged.add("checkpoint " + folder.getFileName() + " is damaged (" + e.getMessage() + ")");
            }
        }
        if (!damaged.isEmpty()) {
            throw new CheckpointException(dir + ": every checkpoint is damaged (newest: " + damaged.get(0)
                    + "); nothing to resume from");
        }
        return Optional.empty();
    }

    /** Reads and verifies a checkpoint folder; problems are {@link CheckpointException}s naming the file (and tensor). */
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
        verifyFiles(folder, FORMAT.equals(state.path("format").asText()));
        return new Loaded(folder, state.get("step").asLong(), model, optimizer, state);
    }

    /**
     * Checks the sizes and CRC32C of the files listed in {@code checksums.json}; {@code required}: a missing
     * checksums.json is damage (a checkpoint of format 2 always has one).
     */
    public static void verifyFiles(Path folder, boolean required) {
        Path sumsFile = folder.resolve(CHECKSUMS_FILE);
        if (!Files.isRegularFile(sumsFile)) {
            if (required) throw new CheckpointException(sumsFile + ": missing (the checkpoint is incomplete or damaged)");
            return;
        }
        JsonNode files;
        try {
            files = JSON.readTree(sumsFile.toFile()).path("files");
        } catch (IOException e) {
            throw new CheckpointException(sumsFile + ": cannot read (" + e.getMessage() + ")");
        }
        if (!files.isObject() || files.size() == 0) throw new CheckpointException(sumsFile + ": no \"files\" listed");
        for (Iterator<Map.Entry<String, JsonNode>> it = files.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().contains("/") || e.getKey().contains("\\") || e.getKey().startsWith(".")) {
                throw new CheckpointException(sumsFile + ": bad file name " + e.getKey());
            }
            Path f = folder.resolve(e.getKey());
            if (!Files.isRegularFile(f)) throw new CheckpointException(f + ": missing (listed in " + CHECKSUMS_FILE + ")");
            long size;
            try {
                size = Files.size(f);
            } catch (IOException ex) {
                throw new CheckpointException(f + ": cannot read (" + AtomicWrite.reason(ex) + ")");
            }
            long want = e.getValue().path("bytes").asLong(-1);
            if (size != want) {
                throw new CheckpointException(f + ": is " + size + " bytes but " + CHECKSUMS_FILE + " records " + want
                        + " (truncated or damaged)");
            }
            String got;
            try {
                got = Checksums.ofFile(f);
            } catch (UncheckedIOException ex) {
                throw new CheckpointException(ex.getMessage());
            }
            String wantCrc = e.getValue().path("crc32c").asText("");
            if (!got.equals(wantCrc)) {
                throw new CheckpointException(f + ": damaged: its CRC32C is " + got + " but " + CHECKSUMS_FILE + " records "
                        + wantCrc);
            }
        }
    }

    private void prune(int keep) throws IOException {
        if (keep <= 0) return;
        List<Long> steps = completeSteps();
        for (int i = 0; i < steps.size() - keep; i++) {
            Path gone = dir.resolve(".del-" + folderName(steps.get(i)));
            AtomicWrite.deleteTree(gone);
            AtomicWrite.move(dir.resolve(folderName(steps.get(i))), gone); // atomic: never a half-deleted step folder
            CrashPoint.reach("prune", steps.get(i));
            AtomicWrite.deleteTree(gone);
        }
    }

    /**
     * Removes leftovers of interrupted writes: pruned folders ({@code .del-*}), temporary folders of this
     * process or of processes that are gone ({@code .tmp-step-*-PID}; another living process's are left
     * alone), and the old copy of a re-saved step ({@code .old-*}), which is put back when a crash came
     * between the two renames of the swap. Returns the names removed or restored.
     */
    public List<String> cleanTemporaries() {
        List<String> done = new ArrayList<>();
        if (!Files.isDirectory(dir)) return done;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                String n = p.getFileName().toString();
                Matcher tmp = TMP_DIR.matcher(n), old = OLD_DIR.matcher(n);
                if (n.startsWith(".del-") || (tmp.matches() && AtomicWrite.ownOrGone(Long.parseLong(tmp.group(1))))) {
                    AtomicWrite.deleteTree(p);
                    done.add(n);
                } else if (old.matches()) {
                    Path fin = dir.resolve(old.group(1));
                    if (Files.exists(fin)) AtomicWrite.deleteTree(p);
                    else AtomicWrite.move(p, fin);
                    done.add(n);
                }
            }
            AtomicWrite.cleanTemporaries(dir);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot clean " + dir, e);
        }
        return done;
    }
}
