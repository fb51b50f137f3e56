package dagmoe.cli;

import dagmoe.config.ConfigException;
import dagmoe.data.DataException;
import dagmoe.train.CheckpointException;
import dagmoe.train.TrainingDivergedException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

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
     * (config, data, checkpoint, arguments), 1 for a diverged run or an internal failure (with its stack
     * trace only for the latter).
     */
    static int guard(Callable<Integer> body) {
        try {
            return body.call();
        } catch (ConfigException | CheckpointException | DataException | BadInput e) {
            System.err.println("dagmoe: " + e.getMessage());
            return BAD_INPUT;
        } catch (TrainingDivergedException e) {
            System.err.println("dagmoe: " + e.getMessage());
            return INTERNAL;
        } catch (UncheckedIOException e) {
            System.err.println("dagmoe: " + e.getMessage());
            return INTERNAL;
        } catch (Exception e) {
            System.err.println("dagmoe: internal error: " + e);
            e.printStackTrace(System.err);
            return INTERNAL;
        }
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

    /** True when {@code dir} does not exist or is an empty folder. */
    static boolean isEmptyOrMissing(Path dir) {
        if (!Files.exists(dir)) return true;
        if (!Files.isDirectory(dir)) return false;
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
