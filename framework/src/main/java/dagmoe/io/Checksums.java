package dagmoe.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/** CRC32C checksums of files and byte ranges, written as 8 lower-case hex digits. */
public final class Checksums {
    private Checksums() {}

    public static String hex(long crc) {
        return String.format("%08x", crc & 0xffffffffL);
    }

    /** CRC32C of a whole file. */
    public static String ofFile(Path file) {
        CRC32C crc = new CRC32C();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(b) >= 0) {
                b.flip();
                crc.update(b);
                b.clear();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(file + ": cannot read (" + AtomicWrite.reason(e) + ")", e);
        }
        return hex(crc.getValue());
    }
}
