package dagmoe.cli;

import dagmoe.io.AtomicWrite;
import dagmoe.io.RunLock;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A folder this command writes, created if needed and held with a {@link RunLock} until {@link #close}. A
 * folder created here that holds nothing but the lock file at the end (the command stopped on bad input
 * before writing) is removed again, so bad input leaves nothing behind.
 */
final class LockedFolder implements AutoCloseable {
    final Path dir;
    private final boolean created;
    private final RunLock lock;

    private LockedFolder(Path dir, boolean created, RunLock lock) {
        this.dir = dir;
        this.created = created;
        this.lock = lock;
    }

    static LockedFolder open(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CliSupport.BadInput(dir + ": is a file, not a folder; nothing was written");
        }
        boolean created = !Files.exists(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot create " + dir, e);
        }
        try {
            return new LockedFolder(dir, created, RunLock.acquire(dir));
        } catch (RuntimeException e) {
            if (created) {
                try {
                    Files.deleteIfExists(dir); // only if still empty: another process's lock file keeps it
                } catch (IOException ignored) {
                    // not empty: it is the other process's now
                }
            }
            throw e;
        }
    }

    /** True when the folder holds nothing but its lock. */
    boolean isEmpty() {
        try {
            return RunLock.onlyLock(dir);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot list " + dir, e);
        }
    }

    @Override
    public void close() {
        try {
            if (created && isEmpty()) {
                Files.deleteIfExists(dir.resolve(RunLock.FILE)); // while still holding the lock
                lock.close();
                Files.deleteIfExists(dir);
                return;
            }
        } catch (IOException | RuntimeException ignored) {
            // another process wrote into it meanwhile: it stays
        }
        lock.close();
    }
}
