package dagmoe.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The one way the program writes a file: into a temporary sibling whose name is unique to this process
 * ({@code .NAME.tmp-PID-N}), forced to disk, renamed over the target with an atomic move, and the folder
 * forced too. A reader sees the old file or the new one, never a part; a crash leaves at most a
 * temporary that {@link #cleanTemporaries} removes once its process is gone. A failed atomic move is an
 * error (never a copying fallback); a failed write removes its temporary and says why, with the bytes
 * needed and free when the disk is full.
 *
 * <p>Failures are {@link UncheckedIOException}s whose message names the file and keeps the reason the
 * operating system gave ("permission denied", "not a folder", "no space left on device").
 */
public final class AtomicWrite {
    /** Writes a file's content to a stream (buffered; the helper flushes, forces and closes it). */
    public interface Body {
        void write(OutputStream out) throws IOException;
    }

    private static final AtomicLong COUNTER = new AtomicLong();
    private static final long PID = ProcessHandle.current().pid();
    /** {@code .NAME.tmp-PID-N}: a temporary of {@link #write}. */
    private static final Pattern TEMP = Pattern.compile("\\..+\\.tmp-(\\d+)-\\d+");

    private AtomicWrite() {}

    public static void writeString(Path file, String text) {
        writeBytes(file, text.getBytes(StandardCharsets.UTF_8));
    }

    public static void writeBytes(Path file, byte[] bytes) {
        write(file, bytes.length, out -> out.write(bytes));
    }

    /** Writes {@code file} atomically; {@code expectedBytes} (0 when unknown) is reported if the disk is full. */
    public static void write(Path file, long expectedBytes, Body body) {
        Path dir = folderOf(file);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw failure("cannot create folder " + dir, e);
        }
        Path tmp = tempFor(file);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
            body.write(out);
            out.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            if (e instanceof IOException io) throw failure("cannot write " + file, io, dir, expectedBytes);
            throw (RuntimeException) e;
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw failure("cannot replace " + file + " atomically", e);
        }
        forceFolder(dir);
    }

    /** Renames {@code from} to {@code to} with an atomic move (no fallback) and forces the folder. */
    public static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        forceFolder(folderOf(to));
    }

    /** A temporary sibling of {@code file}, unique to this process and call. */
    public static Path tempFor(Path file) {
        return folderOf(file).resolve("." + file.getFileName() + ".tmp-" + PID + "-" + COUNTER.incrementAndGet());
    }

    /** This process's id (in temporary names and the run lock). */
    public static long pid() {
        return PID;
    }

    /** True when {@code pid} is this process or no living process: its temporaries are garbage. */
    public static boolean ownOrGone(long pid) {
        return pid == PID || ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
    }

    /**
     * Removes the temporaries of {@link #write} in {@code dir} that belong to this process or to a process
     * that is gone (another living process's are left alone). Returns how many were removed.
     */
    public static int cleanTemporaries(Path dir) {
        if (!Files.isDirectory(dir)) return 0;
        int n = 0;
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Matcher m = TEMP.matcher(p.getFileName().toString());
                if (m.matches() && ownOrGone(Long.parseLong(m.group(1))) && Files.isRegularFile(p)) {
                    Files.deleteIfExists(p);
                    n++;
                }
            }
        } catch (IOException e) {
            throw failure("cannot clean temporaries in " + dir, e);
        }
        return n;
    }

    /** Forces a folder's entries (a rename) to disk; platforms that cannot open a folder are skipped. */
    public static void forceFolder(Path dir) {
        FileChannel ch;
        try {
            ch = FileChannel.open(dir, StandardOpenOption.READ);
        } catch (IOException | UnsupportedOperationException e) {
            return; // e.g. Windows cannot open a folder; the rename itself is still atomic there
        }
        try (ch) {
            ch.force(true);
        } catch (IOException e) {
            throw failure("cannot force folder " + dir + " to disk", e);
        }
    }

    /** Forces a written file to disk. */
    public static void forceFile(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            throw failure("cannot force " + file + " to disk", e);
        }
    }

    /** Deletes a file or folder tree (children first). */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.deleteIfExists(q);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // the failure being reported matters more
        }
    }

    static Path folderOf(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        return parent != null ? parent : file.toAbsolutePath();
    }

    // ---------------------------------------------------------------- messages

    /** An I/O failure as "WHAT: REASON". */
    public static UncheckedIOException failure(String what, IOException e) {
        return new UncheckedIOException(what + ": " + reason(e), e);
    }

    /** Like {@link #failure(String, IOException)}, adding the bytes needed and free when the disk is full. */
    public static UncheckedIOException failure(String what, IOException e, Path dir, long neededBytes) {
        String r = reason(e);
        if (isDiskFull(e)) {
            long free = -1;
            try {
                free = Files.getFileStore(dir).getUsableSpace();
            } catch (IOException ignored) {
                // unknown
            }
            r += " (" + (neededBytes > 0 ? "needs " + neededBytes + " bytes, " : "")
                    + (free >= 0 ? free + " bytes free" : "free space unknown") + "; the partial file was removed)";
        }
        return new UncheckedIOException(what + ": " + r, e);
    }

    static boolean isDiskFull(IOException e) {
        String m = String.valueOf(e.getMessage()).toLowerCase();
        return m.contains("no space left") || m.contains("disk quota") || m.contains("not enough space");
    }

    /** The operating system's reason for an I/O failure, in words ("permission denied", "not a folder", ...). */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException a) return "permission denied" + on(a);
        if (e instanceof NoSuchFileException n) return "no such file or folder" + on(n);
        if (e instanceof NotDirectoryException n) return "not a folder" + on(n);
        if (e instanceof FileAlreadyExistsException f) return "exists and is not a folder" + on(f);
        if (e instanceof DirectoryNotEmptyException d) return "folder is not empty" + on(d);
        if (e instanceof FileSystemException f && f.getReason() != null) return f.getReason() + on(f);
        String m = e.getMessage();
        return m != null && !m.isBlank() ? m : e.getClass().getSimpleName();
    }

    private static String on(FileSystemException e) {
        return e.getFile() != null ? " (" + e.getFile() + ")" : "";
    }
}
