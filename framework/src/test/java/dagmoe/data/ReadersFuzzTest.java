package dagmoe.data;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Fuzzing the data readers: task files (eval --task) load with valid examples or fail naming the file; token shards (random headers, versions, counts and sizes) open or fail with a
 * {@link DataException} naming the file, and never claim more tokens than the file holds; corpus text with
 * random invalid UTF-8 is an error naming the first bad byte's offset, exactly where Java's own strict decoder
 * finds it, and with {@code replace} decodes to what {@code new String(bytes, UTF_8)} gives.
 */
class ReadersFuzzTest {
    static Path dir;

    @BeforeContainer
    static void makeDir() throws Exception {
        dir = Files.createTempDirectory("readers-fuzz");
    }

    @AfterContainer
    static void cleanUp() throws Exception {
        dagmoe.io.AtomicWrite.deleteTree(dir);
    }

    @Provide
    Arbitrary<byte[]> shards() {
        return Arbitraries.longs().map(seed -> {
            Random r = new Random(seed);
            int size = r.nextInt(4) == 0 ? r.nextInt(16) : r.nextInt(3000);
            ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
            byte[] junk = new byte[size];
            r.nextBytes(junk);
            b.put(junk);
            if (size >= 12 && r.nextBoolean()) {
                b.putInt(0, TokenShards.MAGIC);
                b.putInt(4, r.nextInt(5) - 1);
                int[] counts = {0, 1, (size - TokenShards.HEADER_BYTES) / 2, (size - TokenShards.HEADER_BYTES) / 4,
                        Integer.MAX_VALUE, -1, r.nextInt()};
                b.putInt(8, counts[r.nextInt(counts.length)]);
            }
            return b.array();
        });
    }

    @Property
    void tokenShardsOpenOrFailNamingTheFile(@ForAll("shards") byte[] bytes) throws Exception {
        Path f = dir.resolve("fuzz.bin");
        Files.write(f, bytes);
        try {
            TokenSeq s = TokenShards.open(f);
            assertTrue(s.size() * 2 <= bytes.length, s.size() + " tokens in " + bytes.length + " bytes");
            int[] buf = new int[(int) Math.min(s.size(), 4096)];
            s.read(0, buf, 0, buf.length);
            s.read(s.size() - 1, buf, 0, 1);
        } catch (DataException e) {
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
    }

    @Provide
    Arbitrary<byte[]> texts() {
        return Arbitraries.longs().map(seed -> {
            Random r = new Random(seed);
            String[] pieces = {"plain ascii ", "é", "naïve ", "€", "𝄞", "\n", "Zürich ", "日本 "};
            StringBuilder sb = new StringBuilder();
            for (int i = r.nextInt(600); i > 0; i--) sb.append(pieces[r.nextInt(pieces.length)]);
            byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
            if (b.length > 0 && r.nextBoolean()) { // damage: Latin-1 bytes, cut sequences, stray continuation bytes
                for (int i = 1 + r.nextInt(3); i > 0; i--) {
                    int[] bad = {0xe9, 0x80, 0xc3, 0xff, 0xf0, 0xed};
                    b[r.nextInt(b.length)] = (byte) bad[r.nextInt(bad.length)];
                }
            }
            return b;
        });
    }

    /** The byte offset of the first malformed sequence per Java's strict decoder, or -1. */
    static long firstMalformed(byte[] b) {
        var dec = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(b);
        CharBuffer out = CharBuffer.allocate(b.length + 1);
        var res = dec.decode(in, out, true);
        return res.isError() ? in.position() : -1;
    }

    /** A document as the reader ends it: with one newline. */
    static String doc(String s) {
        return s.endsWith("\n") ? s : s + "\n";
    }

    static void assertSameText(String want, String got) {
        if (want.equals(got)) return;
        int i = 0;
        while (i < Math.min(want.length(), got.length()) && want.charAt(i) == got.charAt(i)) i++;
        fail("texts differ at char " + i + " (lengths " + want.length() + ", " + got.length() + ")");
    }

    @Property
    void invalidUtf8IsNamedAtItsByteOffsetOrReplaced(@ForAll("texts") byte[] bytes) throws Exception {
        Path f = dir.resolve("corpus.txt");
        Files.write(f, bytes);
        long bad = firstMalformed(bytes);
        if (bytes.length == 0) return;
        try {
            String text = TextSource.read(f.toString(), "text", "text", 0);
            assertEquals(-1, bad, "read although Java's decoder finds invalid UTF-8 at " + bad);
            assertSameText(doc(new String(bytes, StandardCharsets.UTF_8)), text);
        } catch (DataException e) {
            assertTrue(bad >= 0, e.getMessage());
            assertEquals(f + ": invalid UTF-8 at byte offset " + bad + " (set data.encoding = latin-1 for Latin-1 text, "
                    + "or data.on_invalid_utf8 = replace)", e.getMessage());
        }
        Decoding replace = new Decoding("utf-8", "replace");
        String replaced = TextSource.read(f.toString(), "text", "text", 0, replace);
        assertSameText(doc(new String(bytes, StandardCharsets.UTF_8)), replaced);
        assertEquals(bad < 0, replace.replaced() == 0);
        String latin = TextSource.read(f.toString(), "text", "text", 0, new Decoding("latin-1", "error"));
        assertSameText(doc(new String(bytes, StandardCharsets.ISO_8859_1)), latin);
    }

    @Provide
    Arbitrary<byte[]> taskFiles() {
        return Arbitraries.longs().map(seed -> {
            Random r = new Random(seed);
            String[] good = {"{\"context\": \"In the beginning\", \"choices\": [\" God\", \" man\", \" sea\"], \"label\": 0}",
                    "{\"context\": \"Call me\", \"target\": \" Ishmael\"}"};
            String[] bad = {"", "{", "[]", "null", "\"text\"", "{\"context\": \"\"}", "{\"context\": 3, \"target\": \" x\"}",
                    "{\"context\": \"a\", \"choices\": [\" b\"], \"label\": 0}",
                    "{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": 2}",
                    "{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": -1}",
                    "{\"context\": \"a\", \"choices\": [\" b\", \" c\"], \"label\": 1.5}",
                    "{\"context\": \"a\", \"choices\": [\" b\", 7], \"label\": 0}",
                    "{\"context\": \"a\", \"target\": \" b\", \"choices\": [\" b\", \" c\"], \"label\": 0}"};
            int kind = r.nextInt(2);
            StringBuilder sb = new StringBuilder();
            for (int i = r.nextInt(6); i > 0; i--) {
                String line = r.nextInt(4) == 0 ? bad[r.nextInt(bad.length)] : good[r.nextInt(3) == 0 ? 1 - kind : kind];
                if (r.nextInt(5) == 0 && !line.isEmpty()) line = line.substring(0, r.nextInt(line.length())); // cut
                sb.append(line).append('\n');
            }
            byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
            if (b.length > 0 && r.nextInt(6) == 0) b[r.nextInt(b.length)] = (byte) (0x80 + r.nextInt(128)); // invalid UTF-8
            return b;
        });
    }

    /** Task files (eval --task): they load with every example valid, or fail with a DataException naming the file. */
    @Property
    void taskFilesLoadOrFailNamingTheFile(@ForAll("taskFiles") byte[] bytes) throws Exception {
        Path f = dir.resolve("task.jsonl");
        Files.write(f, bytes);
        try {
            dagmoe.eval.TaskFile t = dagmoe.eval.TaskFile.read(f);
            assertFalse(t.examples().isEmpty());
            for (var e : t.examples()) {
                assertFalse(e.context().isEmpty());
                if (t.kind() == dagmoe.eval.TaskFile.Kind.CHOICE) {
                    assertTrue(e.choices().size() >= 2 && e.label() >= 0 && e.label() < e.choices().size(), e.toString());
                }
            }
        } catch (DataException e) {
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        }
    }
}
