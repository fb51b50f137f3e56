package dagmoe.data;

import dagmoe.io.AtomicWrite;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Token shards ({@code .bin}), memory-mapped, never read whole into the heap.
 *
 * <p>llm.c format: a header of 256 little-endian int32 — [0] magic 20240520, [1] version (1: tokens
 * are uint16; 2: uint32), [2] token count — then the tokens, little-endian. nanoGPT format: raw
 * little-endian uint16 tokens with no header. A file is llm.c when its first int32 is the magic,
 * otherwise nanoGPT. data.path may be one file, a folder (its *.bin files in name order) or a glob
 * in the file name ("data/fineweb_train_*.bin").
 */
public final class TokenShards {
    public static final int MAGIC = 20240520;
    public static final int HEADER_INTS = 256;
    public static final int HEADER_BYTES = HEADER_INTS * 4;
    private static final int REGION_SHIFT = 30; // map in 1 GiB regions (a MappedByteBuffer holds < 2 GiB)

    private TokenShards() {}

    /** The shard files named by data.path, in name order; DataException when there are none. */
    public static List<Path> list(String path) {
        String name = TextSource.fileName(path);
        List<Path> files = new ArrayList<>();
        if (name.contains("*") || name.contains("?")) {
            Path dir = Paths.get(path.substring(0, path.length() - name.length()).isEmpty() ? "." : path.substring(0, path.length() - name.length()));
            if (!Files.isDirectory(dir)) throw new DataException("data.path = " + path + ": no such folder " + dir);
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, name)) {
                for (Path p : ds) if (Files.isRegularFile(p)) files.add(p);
            } catch (IOException e) {
                throw new DataException(path + ": cannot list (" + e.getMessage() + ")", e);
            }
        } else {
            Path p = Paths.get(path);
            if (!Files.exists(p)) throw new DataException("data.path = " + path + ": no such file or folder");
            if (Files.isDirectory(p)) {
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(p, "*.bin")) {
                    for (Path f : ds) if (Files.isRegularFile(f)) files.add(f);
                } catch (IOException e) {
                    throw new DataException(path + ": cannot list (" + e.getMessage() + ")", e);
                }
            } else {
                files.add(p);
            }
        }
        if (files.isEmpty()) throw new DataException("data.path = " + path + ": no .bin token shards found");
        files.sort(null);
        return files;
    }

    /** Maps one shard; a bad header or a short file is a DataException naming it. */
    public static TokenSeq open(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            int bytesPerToken;
            long offset, count;
            ByteBuffer head = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(head, 0);
            if (size >= 12 && head.getInt(0) == MAGIC) {
                int version = head.getInt(4);
                if (version != 1 && version != 2) {
                    throw new DataException(file + ": llm.c shard header version " + version + " (expected 1 = uint16 or 2 = uint32 tokens)");
                }
                if (size < HEADER_BYTES) throw new DataException(file + ": llm.c shard shorter than its 1024-byte header (" + size + " bytes)");
                bytesPerToken = version == 1 ? 2 : 4;
                count = Integer.toUnsignedLong(head.getInt(8));
                offset = HEADER_BYTES;
                if (offset + count * bytesPerToken > size) {
                    throw new DataException(file + ": header says " + count + " tokens but the file holds only " + (size - offset) / bytesPerToken);
                }
            } else {
                if (size % 2 != 0) throw new DataException(file + ": not a token shard: no llm.c header (magic " + MAGIC + ") and an odd size for raw uint16 tokens");
                bytesPerToken = 2;
                offset = 0;
                count = size / 2;
            }
            if (count == 0) throw new DataException(file + ": empty token shard");
            return new Mapped(file, ch, offset, count, bytesPerToken);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** Writes an llm.c shard: version 1 (uint16) when every token is below 65536, else version 2. */
    public static void write(Path file, int[] tokens) {
        boolean small = true;
        for (int t : tokens) {
            if (t < 0) throw new IllegalArgumentException("negative token " + t);
            small &= t < 65536;
        }
        int bpt = small ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + tokens.length * bpt).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(MAGIC).putInt(small ? 1 : 2).putInt(tokens.length);
        b.position(HEADER_BYTES);
        for (int t : tokens) {
            if (small) b.putShort((short) t);
            else b.putInt(t);
        }
        writeBytes(file, b.array());
    }

    /** Writes a nanoGPT shard: raw uint16 tokens. */
    public static void writeNanoGpt(Path file, int[] tokens) {
        ByteBuffer b = ByteBuffer.allocate(tokens.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (int t : tokens) {
            if (t < 0 || t > 65535) throw new IllegalArgumentException("token " + t + " does not fit uint16");
            b.putShort((short) t);
        }
        writeBytes(file, b.array());
    }

    private static void writeBytes(Path file, byte[] bytes) {
        AtomicWrite.writeBytes(file, bytes);
    }

    /** A mapped shard: token i is at file byte offset + i * bytesPerToken. */
    static final class Mapped implements TokenSeq {
        final Path file;
        private final long offset, count;
        private final int bytesPerToken;
        private final MappedByteBuffer[] regions;

        Mapped(Path file, FileChannel ch, long offset, long count, int bytesPerToken) throws IOException {
            this.file = file;
            this.offset = offset;
            this.count = count;
            this.bytesPerToken = bytesPerToken;
            long end = offset + count * bytesPerToken;
            int n = (int) ((end + (1L << REGION_SHIFT) - 1) >>> REGION_SHIFT);
            regions = new MappedByteBuffer[n];
            for (int r = 0; r < n; r++) {
                long from = (long) r << REGION_SHIFT;
                regions[r] = ch.map(FileChannel.MapMode.READ_ONLY, from, Math.min(end, from + (1L << REGION_SHIFT)) - from);
                regions[r].order(ByteOrder.LITTLE_ENDIAN);
            }
        }

        @Override
        public long size() {
            return count;
        }

        @Override
        public void read(long start, int[] dst, int off, int len) {
            if (start < 0 || start + len > count) throw new IndexOutOfBoundsException("read " + start + "+" + len + " of " + count + " in " + file);
            for (int i = 0; i < len; i++) {
                long pos = offset + (start + i) * bytesPerToken; // header and region sizes are multiples of 4: no token straddles regions
                MappedByteBuffer r = regions[(int) (pos >>> REGION_SHIFT)];
                int at = (int) (pos & ((1L << REGION_SHIFT) - 1));
                dst[off + i] = bytesPerToken == 2 ? Short.toUnsignedInt(r.getShort(at)) : r.getInt(at);
            }
        }

        int bytesPerToken() {
            return bytesPerToken;
        }
    }
}
