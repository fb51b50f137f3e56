package dagmoe.cli;

import dagmoe.config.ConfigException;
import dagmoe.config.RunConfig;
import dagmoe.data.DataException;
import dagmoe.io.AtomicWrite;
import dagmoe.io.RunFolderInUseException;
import dagmoe.io.RunLock;
import dagmoe.model.Footprint;
import dagmoe.train.CheckpointException;
import dagmoe.train.TrainingDivergedException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Shared pieces of the train/eval/compare/generate commands: exit codes and run-folder checks. */
final class CliSupport {
    static final int OK = 0, INTERNAL = 1, BAD_INPUT = 2;

    private CliSupport() {}

    /** Bad input the user can fix (a missing run folder, a non-empty --out): exit code 2. */
    static final class BadInput extends RuntimeException {
        BadInput(String message) {
            super(message);
        }
    }

    /**
     * Runs a command body and maps failures to exit codes, one "dagmoe: ..." line each: 2 for bad input
     * (config, data, checkpoint, arguments, a run folder in use, a file-system error), 1 for a diverged run or an internal failure (with its stack
     * trace only for the latter).
     */
    static int guard(Callable<Integer> body) {
        try {
            return body.call();
        } catch (ConfigException | CheckpointException | DataException | BadInput | RunFolderInUseException e) {
            System.err.println("dagmoe: " + oneLine(e.getMessage()));
            return BAD_INPUT;
        } catch (TrainingDivergedException e) {
            System.err.println("dagmoe: " + oneLine(e.getMessage()));
            return INTERNAL;
        } catch (UncheckedIOException e) {
            // The file system said no (permission denied, not a folder, disk full): the message keeps its reason.
            System.err.println("dagmoe: " + oneLine(e.getMessage()));
            return BAD_INPUT;
        } catch (Exception e) {
            System.err.println("dagmoe: internal error: " + e);
            e.printStackTrace(System.err);
            return INTERNAL;
        }
    }

    /**
     * The message as one line: control characters and line or paragraph separators that came in with the user's
     * input (a --set value, a key in a config) are written as escapes (\n, \r, \t, \\uXXXX), so the error stays the
     * one "dagmoe: ..." line it is meant to be.
     */
    static String oneLine(String message) {
        if (message == null) return "null";
        StringBuilder sb = null;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            int type = Character.getType(c);
            boolean escape = Character.isISOControl(c) || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
            if (escape && sb == null) sb = new StringBuilder(message.length() + 8).append(message, 0, i);
            if (sb == null) continue;
            if (!escape) sb.append(c);
            else if (c == '\n') sb.append("\\n");
            else if (c == '\r') sb.append("\\r");
            else if (c == '\t') sb.append("\\t");
            else sb.append(String.format("\\u%04x", (int) c));
        }
        return sb == null ? message : sb.toString();
    }

    /** Runs setup code whose IllegalArgumentException (a "key = value: rule" validation) is bad input. */
    static <T> T input(Callable<T> setup) {
        try {
            return setup.call();
        } catch (IllegalArgumentException e) {
            throw new BadInput(e.getMessage());
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Shape products and a memory lower bound of a config against the JVM's max heap: bad input when they do not fit. */
    static void checkFootprint(RunConfig cfg, boolean training) {
        try {
            Footprint.check(cfg.model(), cfg.train().batchSize(), training, Runtime.getRuntime().maxMemory());
        } catch (IllegalArgumentException e) {
            throw new BadInput(cfg.source() + ": " + e.getMessage()); // the message names the config it came from
        }
    }

    /** True when {@code dir} does not exist or is an empty folder (a lock file alone counts as empty). */
    static boolean isEmptyOrMissing(Path dir) {
        if (!Files.exists(dir)) return true;
        if (!Files.isDirectory(dir)) return false;
        try {
            return RunLock.onlyLock(dir);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot list " + dir, e);
        }
    }

    /** A run folder given to eval/generate must hold config.json and a complete checkpoint. */
    static void requireRun(Path run) {
        if (!Files.isDirectory(run)) throw new BadInput(run + ": no such run folder");
        if (!Files.isRegularFile(run.resolve("config.json"))) {
            throw new BadInput(run + ": not a run folder (no config.json)");
        }
    }
}
