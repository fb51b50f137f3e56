package dagmoe.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How corpus bytes become text (data.encoding, data.on_invalid_utf8): UTF-8 by default, where a byte
 * sequence that is not UTF-8 is an error naming the file and the byte offset of the first one, unless
 * {@code on_invalid_utf8 = replace} (each becomes U+FFFD and they are counted, {@link #replaced()}); or
 * {@code latin-1} (ISO-8859-1: every byte is a character, nothing is invalid).
 */
public final class Decoding {
    public static final List<String> ENCODINGS = List.of("utf-8", "latin-1");
    public static final List<String> ON_INVALID = List.of("error", "replace");

    private final String encoding;
    private final boolean replace;
    private final AtomicLong replaced = new AtomicLong();

    public Decoding(String encoding, String onInvalid) {
        this.encoding = encoding == null || encoding.isEmpty() ? "utf-8" : encoding;
        String on = onInvalid == null || onInvalid.isEmpty() ? "error" : onInvalid;
        if (!ENCODINGS.contains(this.encoding)) throw new DataException("data.encoding = " + encoding + ": must be one of " + ENCODINGS);
        if (!ON_INVALID.contains(on)) throw new DataException("data.on_invalid_utf8 = " + onInvalid + ": must be one of " + ON_INVALID);
        this.replace = on.equals("replace");
    }

    /** UTF-8, invalid input an error. */
    public static Decoding strict() {
        return new Decoding("utf-8", "error");
    }

    /** Invalid UTF-8 sequences replaced so far. */
    public long replaced() {
        return replaced.get();
    }

    public String encoding() {
        return encoding;
    }

    /** A reader of {@code in}; {@code where} names the file (and zip entry) in errors. */
    public Reader reader(InputStream in, String where) {
        if (encoding.equals("latin-1")) return new java.io.InputStreamReader(in, StandardCharsets.ISO_8859_1);
        return new Utf8Reader(in, where);
    }

    /** UTF-8 decoding that knows the byte offset of every problem. */
    private final class Utf8Reader extends Reader {
        private final InputStream in;
        private final String where;
        private final CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        private final ByteBuffer bytes = ByteBuffer.allocate(1 << 16).flip();
        private final CharBuffer chars = CharBuffer.allocate(1 << 16).flip();
        private long before; // bytes of the stream before bytes' position 0
        private boolean eof, flushed;

        Utf8Reader(InputStream in, String where) {
            this.in = in;
            this.where = where;
        }

        @Override
        public int read(char[] dst, int off, int len) throws IOException {
            if (len == 0) return 0;
            while (!chars.hasRemaining()) {
                if (!fill()) return -1;
            }
            int n = Math.min(len, chars.remaining());
            chars.get(dst, off, n);
            return n;
        }

        /** Decodes more characters into {@code chars}; false at the end. */
        private boolean fill() throws IOException {
            if (flushed) return false;
            chars.clear();
            while (chars.position() == 0) {
                if (!eof && bytes.remaining() < 4) {
                    before += bytes.position();
                    bytes.compact();
                    int n = in.read(bytes.array(), bytes.position(), bytes.remaining());
                    if (n < 0) eof = true;
                    else bytes.position(bytes.position() + n);
                    bytes.flip();
                }
                CoderResult r = dec.decode(bytes, chars, eof);
                if (r.isError()) {
                    if (!replace) {
                        throw new DataException(where + ": invalid UTF-8 at byte offset " + (before + bytes.position())
                                + " (set data.encoding = latin-1 for Latin-1 text, or data.on_invalid_utf8 = replace)");
                    }
                    if (!chars.hasRemaining()) break; // room for the U+FFFD next time
                    bytes.position(bytes.position() + r.length());
                    replaced.incrementAndGet();
                    chars.put('\uFFFD');
                    continue;
                }
                if (eof && !bytes.hasRemaining()) {
                    dec.flush(chars);
                    flushed = true;
                    break;
                }
                if (r.isOverflow()) break;
            }
            chars.flip();
            return chars.hasRemaining() || !flushed;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
