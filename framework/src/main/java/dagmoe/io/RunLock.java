package dagmoe.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * One writer per run folder: an operating-system lock ({@link FileChannel#tryLock}) on {@code DIR/.lock},
 * held for as long as a command writes the folder. The lock file records the holder's process id and start
 * time for the message a second writer gets; the lock itself dies with the process (a SIGKILL frees it),
 * so a stale lock file never blocks anyone.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} (which must exist); another holder is a {@link RunFolderInUseException}
     * "run folder X is in use by process P since T".
     */
    public static RunLock acquire(Path dir) {
        Path file = dir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot open the run lock " + file, e);
        }
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null; // held by this very process (another command of the same JVM)
        } catch (IOException e) {
            close(ch);
            throw AtomicWrite.failure("cannot lock " + file, e);
        }
        if (l == null) {
            String holder = holder(ch);
            for (int i = 0; i < 20 && holder == null; i++) { // the holder has just locked and not yet written its name
                sleep();
                holder = holder(ch);
            }
            if (holder == null) holder = "another process (starting)";
            close(ch);
            throw inUse(dir, holder);
        }
        try {
            byte[] who = ("pid " + AtomicWrite.pid() + "\nsince " + Instant.now().truncatedTo(ChronoUnit.SECONDS) + "\n")
                    .getBytes(StandardCharsets.UTF_8);
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(who), 0);
            ch.force(true);
        } catch (IOException e) {
            close(ch);
            throw AtomicWrite.failure("cannot write the run lock " + file, e);
        }
        return new RunLock(ch, l);
    }

    /** "run folder X is in use by process P since T; ...". */
    public static RunFolderInUseException inUse(Path dir, String holder) {
        return new RunFolderInUseException("run folder " + dir + " is in use by " + holder
                + "; wait for it to finish or use another folder (nothing was written)");
    }

    /** Who holds {@code dir}'s lock ("process P since T"), or null when nobody does; changes nothing. */
    public static String heldBy(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) return null;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                l = null;
            }
            if (l != null) {
                l.release();
                return null;
            }
            String h = holder(ch);
            return h != null ? h : "another process (starting)";
        } catch (IOException e) {
            return null;
        }
    }

    /** "process P since T" from the lock file's content, or null while it is empty. */
    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate((int) Math.min(256, ch.size()));
            ch.read(b, 0);
            String[] lines = new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).split("\n");
            String pid = null, since = null;
            for (String line : lines) {
                if (line.startsWith("pid ")) pid = line.substring(4).trim();
                if (line.startsWith("since ")) since = line.substring(6).trim();
            }
            if (pid != null) return "process " + pid + (since != null ? " since " + since : "");
        } catch (IOException ignored) {
            // fall through
        }
        return null;
    }

    private static void sleep() {
        try {
            Thread.sleep(25);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True when {@code dir} holds nothing but (possibly) its lock file. */
    public static boolean onlyLock(Path dir) throws IOException {
        try (var s = Files.list(dir)) {
            return s.allMatch(p -> p.getFileName().toString().equals(FILE));
        }
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        close(channel);
    }

    private static void close(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to release
        }
    }
}
