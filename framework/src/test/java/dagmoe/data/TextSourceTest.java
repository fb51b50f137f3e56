package dagmoe.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextSourceTest {
    @TempDir
    Path dir;

    private String read(Path p, String format) {
        return TextSource.read(p.toString(), format, "text", 0);
    }

    @Test
    void textFileAndGzip() throws Exception {
        Path f = dir.resolve("a.txt");
        Files.writeString(f, "line one\nline two é 😀");
        assertEquals("line one\nline two é 😀\n", read(f, "auto"));
        Path gz = dir.resolve("a.txt.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(gz))) {
            out.write("zipped text\n".getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("zipped text\n", read(gz, "text"));
    }

    @Test
    void maxBytesNeverSplitsACharacter() throws Exception {
        Path f = dir.resolve("u.txt");
        Files.writeString(f, "aé😀b".repeat(1000)); // 1 + 2 + 4 + 1 bytes per repeat
        for (long cap : new long[] {1, 2, 3, 4, 7, 8, 9, 100, 1001}) {
            String s = TextSource.read(f.toString(), "text", "text", cap);
            int bytes = s.getBytes(StandardCharsets.UTF_8).length;
            assertTrue(bytes <= cap && bytes > cap - 4, cap + " -> " + bytes);
            assertTrue(("aé😀b".repeat(1000)).startsWith(s), "prefix for cap " + cap);
        }
    }

    @Test
    void folderIsRecursiveSortedAndFiltered() throws Exception {
        Files.createDirectories(dir.resolve("b/c"));
        Files.createDirectories(dir.resolve(".git"));
        Files.writeString(dir.resolve("b/c/z.md"), "third");
        Files.writeString(dir.resolve("b/a.java"), "second\n");
        Files.writeString(dir.resolve("a.txt"), "first");
        Files.writeString(dir.resolve("c.txt"), "fourth");
        Files.writeString(dir.resolve(".git/x.txt"), "hidden");
        Files.write(dir.resolve("img.png"), new byte[] {1, 2, 3});
        assertEquals("first\nsecond\nthird\nfourth\n", read(dir, "auto"));
        assertEquals("folder", TextSource.resolveFormat(dir.toString(), "auto"));
        Path empty = Files.createDirectories(dir.resolve("empty"));
        DataException e = assertThrows(DataException.class, () -> read(empty, "folder"));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
    }

    @Test
    void jsonlFieldAndErrorsNameFileAndLine() throws Exception {
        Path f = dir.resolve("d.jsonl");
        Files.writeString(f, "{\"text\": \"hello\", \"id\": 1}\n\n{\"text\": \"wo\\nrld\"}\n");
        assertEquals("hello\nwo\nrld\n", read(f, "auto"));
        Files.writeString(f, "{\"body\": \"x\", \"text\": \"y\"}\n");
        assertEquals("x\n", TextSource.read(f.toString(), "jsonl", "body", 0));

        Files.writeString(f, "{\"text\": \"ok\"}\n{\"text\": \"broken\"\n");
        DataException e = assertThrows(DataException.class, () -> read(f, "jsonl"));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("line 2") && e.getMessage().contains("malformed"), e.getMessage());
        Files.writeString(f, "{\"text\": \"ok\"}\n{\"txt\": \"x\"}\n");
        e = assertThrows(DataException.class, () -> read(f, "jsonl"));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("line 2") && e.getMessage().contains("\"text\""), e.getMessage());
        Files.writeString(f, "{\"text\": 3}\n");
        e = assertThrows(DataException.class, () -> read(f, "jsonl"));
        assertTrue(e.getMessage().contains("line 1") && e.getMessage().contains("not a string"), e.getMessage());
    }

    @Test
    void zipEntriesInNameOrderFilteredByExtension() throws Exception {
        Path z = dir.resolve("src.zip");
        try (ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(z))) {
            for (String[] e : new String[][] {{"java.base/b/B.java", "class B {}"}, {"java.base/a/A.java", "class A {}"},
                    {"java.base/a/A.class", "\u0000binary"}, {"README", "no extension"}}) {
                out.putNextEntry(new ZipEntry(e[0]));
                out.write(e[1].getBytes(StandardCharsets.UTF_8));
                out.closeEntry();
            }
        }
        assertEquals("class A {}\nclass B {}\n", read(z, "auto"));
        Path notZip = dir.resolve("fake.zip");
        Files.writeString(notZip, "not a zip");
        DataException e = assertThrows(DataException.class, () -> read(notZip, "zip"));
        assertTrue(e.getMessage().contains("fake.zip"), e.getMessage());
    }

    @Test
    void missingEmptyAndWrongPathsNameTheFile() throws Exception {
        DataException e = assertThrows(DataException.class, () -> read(dir.resolve("nope.txt"), "auto"));
        assertTrue(e.getMessage().contains("nope.txt"), e.getMessage());
        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "");
        e = assertThrows(DataException.class, () -> read(empty, "text"));
        assertTrue(e.getMessage().contains("empty.txt") && e.getMessage().contains("empty"), e.getMessage());
        e = assertThrows(DataException.class, () -> read(dir, "text"));
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        e = assertThrows(DataException.class, () -> TextSource.read("x.txt", "csv", "text", 0));
        assertTrue(e.getMessage().contains("data.format"), e.getMessage());
        e = assertThrows(DataException.class, () -> TextSource.read("builtin:nothing", "auto", "text", 0));
        assertTrue(e.getMessage().contains("builtin:nothing"), e.getMessage());
    }

    // ---------------------------------------------------------------- token shards

    /** llm.c shard written here, independently of TokenShards.write. */
    static void writeLlmc(Path f, int version, int headerCount, int[] tokens) throws Exception {
        int bpt = version == 1 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(1024 + tokens.length * bpt).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 20240520).putInt(4, version).putInt(8, headerCount);
        for (int i = 0; i < tokens.length; i++) {
            if (bpt == 2) b.putShort(1024 + 2 * i, (short) tokens[i]);
            else b.putInt(1024 + 4 * i, tokens[i]);
        }
        Files.write(f, b.array());
    }

    @Test
    void llmcAndNanoGptShards() throws Exception {
        int[] t1 = {0, 1, 50256, 65535, 7};
        Path v1 = dir.resolve("s_000.bin");
        writeLlmc(v1, 1, t1.length, t1);
        assertArrayEquals(t1, TokenShards.open(v1).toArray());
        int[] t2 = {70000, 3, 100277};
        Path v2 = dir.resolve("s_001.bin");
        writeLlmc(v2, 2, t2.length, t2);
        assertArrayEquals(t2, TokenShards.open(v2).toArray());
        Path raw = dir.resolve("nano.bin");
        ByteBuffer b = ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 5).putShort((short) 40000).putShort((short) 9);
        Files.write(raw, b.array());
        assertArrayEquals(new int[] {5, 40000, 9}, TokenShards.open(raw).toArray());
        // TokenShards.write round trips through the reader
        Path w = dir.resolve("w.bin");
        TokenShards.write(w, t1);
        assertArrayEquals(t1, TokenShards.open(w).toArray());
        TokenShards.writeNanoGpt(w, t1);
        assertArrayEquals(t1, TokenShards.open(w).toArray());
        // glob and folder listing, name order
        assertEquals(2, TokenShards.list(dir.resolve("s_*.bin").toString()).size());
        assertEquals(v1, TokenShards.list(dir.resolve("s_*.bin").toString()).get(0));
        assertEquals("bin", TextSource.resolveFormat(dir.resolve("s_*.bin").toString(), "auto"));
    }

    @Test
    void badShardHeadersNameTheFile() throws Exception {
        Path bad = dir.resolve("bad_version.bin");
        writeLlmc(bad, 7, 2, new int[] {1, 2});
        DataException e = assertThrows(DataException.class, () -> TokenShards.open(bad));
        assertTrue(e.getMessage().contains("bad_version.bin") && e.getMessage().contains("version 7"), e.getMessage());
        Path shortFile = dir.resolve("short.bin");
        writeLlmc(shortFile, 1, 1000, new int[] {1, 2});
        e = assertThrows(DataException.class, () -> TokenShards.open(shortFile));
        assertTrue(e.getMessage().contains("short.bin") && e.getMessage().contains("1000"), e.getMessage());
        Path odd = dir.resolve("odd.bin");
        Files.write(odd, new byte[] {1, 2, 3});
        e = assertThrows(DataException.class, () -> TokenShards.open(odd));
        assertTrue(e.getMessage().contains("odd.bin"), e.getMessage());
        e = assertThrows(DataException.class, () -> TokenShards.list(dir.resolve("none_*.bin").toString()));
        assertTrue(e.getMessage().contains("none_*.bin"), e.getMessage());
    }

    @Test
    void shardTokensOutsideTheVocabularyNameTheFile() throws Exception {
        Path f = dir.resolve("big.bin");
        int[] tokens = new int[5000];
        tokens[4321] = 300;
        writeLlmc(f, 1, tokens.length, tokens);
        DataException e = assertThrows(DataException.class, () -> TokenDataset.load(DataSpec.of(f.toString()), null));
        assertTrue(e.getMessage().contains("big.bin") && e.getMessage().contains("4321") && e.getMessage().contains("300"), e.getMessage());
    }

    // ---------------------------------------------------------------- real corpora

    @Test
    void builtinEuroparlKeepsOnlyTheBody() {
        String s = TextSource.read("builtin:europarl", "auto", "text", 300_000);
        assertTrue(s.getBytes(StandardCharsets.UTF_8).length > 290_000);
        assertFalse(s.contains("\t"), "title and date fields dropped");
        assertFalse(s.startsWith("(1)"), "the first line's title is not kept");
        assertTrue(s.startsWith("Istituzioni europee proteggerlo"), s.substring(0, 60));
    }

    @Test
    void jdkSrcZipIfPresent() {
        // this JDK's src.zip, else another installed JDK's (Debian's OpenJDK 17 has it only with openjdk-17-source)
        Path home = Paths.get(System.getProperty("java.home"));
        Path src = home.resolve("lib/src.zip");
        if (!Files.isRegularFile(src) && home.getParent() != null) {
            try (var s = Files.list(home.getParent())) {
                src = s.map(p -> p.resolve("lib/src.zip")).filter(Files::isRegularFile).sorted().findFirst().orElse(src);
            } catch (java.io.IOException e) {
                // keep the default: skipped below
            }
        }
        Assumptions.assumeTrue(Files.isRegularFile(src), "no JDK lib/src.zip found: skipped");
        String s = TextSource.read(src.toString(), "auto", "text", 200_000);
        assertTrue(s.contains("package "), "java sources");
    }
}
