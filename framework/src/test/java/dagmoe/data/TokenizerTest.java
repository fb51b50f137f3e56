package dagmoe.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerTest {
    static final String SAMPLE = "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse, "
            + "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.\n"
            + "Über Straße naïve café 東京 😀 emoji, tabs\tand  double  spaces, numbers 12345 and 3.14159; it's we'll they've.\n";

    /** Random strings over ASCII, Latin-1, CJK, emoji (surrogate pairs), combining marks and whitespace. */
    static String randomText(SplittableRandom r, int codePoints) {
        int[] pool = {'a', 'b', 'e', ' ', ' ', '\n', '\t', '.', ',', '\'', '0', '7', 0xE9, 0xDF, 0x0301, 0x6771, 0x4EAC, 0x1F600, 0x1F680, 0x00A0, 0x2014};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < codePoints; i++) sb.appendCodePoint(r.nextInt(4) == 0 ? pool[r.nextInt(pool.length)] : 'a' + r.nextInt(26));
        return sb.toString();
    }

    @Test
    void byteTokenizerIsUtf8() {
        Tokenizer t = new ByteTokenizer();
        String s = "héllo 😀";
        int[] ids = t.encode(s);
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        assertEquals(utf8.length, ids.length);
        for (int i = 0; i < ids.length; i++) assertEquals(utf8[i] & 0xFF, ids[i]);
        assertEquals(s, t.decode(ids));
        assertEquals(256, t.vocabSize());
        assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {256}));
    }

    @Test
    void gpt2KnownIdsAndRoundTrip() {
        Tokenizer t = new Gpt2Tokenizer();
        assertArrayEquals(new int[] {31373, 995}, t.encode("hello world"));
        // ids from tiktoken's r50k_base (the GPT-2 tokenizer)
        assertArrayEquals(new int[] {15496, 11, 995, 0}, t.encode("Hello, world!"));
        assertEquals(50257, t.vocabSize());
        assertEquals(SAMPLE, t.decode(t.encode(SAMPLE)));
        String r = randomText(new SplittableRandom(3), 400);
        assertEquals(r, t.decode(t.encode(r)));
        assertEquals("a<|endoftext|>b", t.decode(new int[] {64, Gpt2Tokenizer.END_OF_TEXT, 65}));
    }

    @Test
    void bpeMatchesNaiveTrainerAndRoundTrips() {
        String train = SAMPLE.repeat(3) + randomText(new SplittableRandom(1), 3000);
        BpeTokenizer fast = BpeTokenizer.train(train, 256 + 120);
        int[][] naive = naiveMerges(train, 120);
        assertEquals(naive.length, fast.merges().length);
        for (int r = 0; r < naive.length; r++) assertArrayEquals(naive[r], fast.merges()[r], "merge " + r);
        assertEquals(256 + naive.length, fast.vocabSize());
        // deterministic: training again gives the same merges
        assertEquals(fast, BpeTokenizer.train(train, 256 + 120));
        // round trip on the training text, on unseen text, and on random Unicode
        assertEquals(train, fast.decode(fast.encode(train)));
        SplittableRandom rnd = new SplittableRandom(42);
        for (int i = 0; i < 50; i++) {
            String s = randomText(rnd, 1 + rnd.nextInt(200));
            assertEquals(s, fast.decode(fast.encode(s)));
        }
        // it compresses: fewer tokens than bytes on its own training text
        assertTrue(fast.encode(SAMPLE).length < SAMPLE.getBytes(StandardCharsets.UTF_8).length * 0.8);
    }

    @Test
    void bpeEncodingEqualsApplyingMergesInOrder() {
        String train = SAMPLE.repeat(2);
        BpeTokenizer t = BpeTokenizer.train(train, 256 + 80);
        int[][] merges = t.merges();
        String probe = "the little money of the shore, 12345 naïve";
        List<Integer> expected = new ArrayList<>();
        BpeTokenizer.forEachChunk(probe, chunk -> {
            List<Integer> s = bytesOf(chunk);
            for (int r = 0; r < merges.length; r++) s = mergeAll(s, merges[r][0], merges[r][1], 256 + r);
            expected.addAll(s);
        });
        assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), t.encode(probe));
    }

    @Test
    void bpeSaveLoadAndOtherTokenizersSaveLoad(@TempDir Path dir) throws Exception {
        BpeTokenizer t = BpeTokenizer.train(SAMPLE.repeat(4), 300);
        t.save(dir.resolve("run1"));
        Tokenizer back = Tokenizers.load(dir.resolve("run1"));
        assertInstanceOf(BpeTokenizer.class, back);
        assertEquals(t, back);
        assertArrayEquals(t.encode(SAMPLE), back.encode(SAMPLE));
        new Gpt2Tokenizer().save(dir.resolve("run2"));
        assertEquals("gpt2", Tokenizers.load(dir.resolve("run2")).name());
        new ByteTokenizer().save(dir.resolve("run3"));
        assertEquals(256, Tokenizers.load(dir.resolve("run3")).vocabSize());
        // bad files name the file
        Files.createDirectories(dir.resolve("bad"));
        Files.writeString(dir.resolve("bad/tokenizer.json"), "{\"type\": \"bpe\", \"merges\": [[1, 300]]}");
        DataException e = assertThrows(DataException.class, () -> Tokenizers.load(dir.resolve("bad")));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        Files.writeString(dir.resolve("bad/tokenizer.json"), "{not json");
        e = assertThrows(DataException.class, () -> Tokenizers.load(dir.resolve("bad")));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        e = assertThrows(DataException.class, () -> Tokenizers.load(dir.resolve("none")));
        assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
        e = assertThrows(DataException.class, () -> Tokenizers.create("wordpiece", "x", 0));
        assertTrue(e.getMessage().contains("data.tokenizer"), e.getMessage());
    }

    @Test
    void bpeOnSharedCorpusIfPresent() throws Exception {
        Path moby = SharedData.file("moby-dick.txt");
        Assumptions.assumeTrue(moby != null, "../shared/data/moby-dick.txt absent: skipped");
        String text = Files.readString(moby).substring(0, 400_000);
        BpeTokenizer t = BpeTokenizer.train(text, 1024);
        assertEquals(1024, t.vocabSize());
        int[] ids = t.encode(text);
        assertEquals(text, t.decode(ids));
        // a 1024-token BPE on English prose: well under half a token per byte
        assertTrue(ids.length < text.length() * 0.5, "tokens " + ids.length + " for " + text.length() + " chars");
    }

    // ---- independent reference: recount every pair before each merge
    static int[][] naiveMerges(String text, int nMerges) {
        Map<String, Integer> counts = new HashMap<>();
        BpeTokenizer.forEachChunk(text, c -> counts.merge(c, 1, Integer::sum));
        List<List<Integer>> words = new ArrayList<>();
        List<Integer> freq = new ArrayList<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            words.add(bytesOf(e.getKey()));
            freq.add(e.getValue());
        }
        List<int[]> merges = new ArrayList<>();
        for (int m = 0; m < nMerges; m++) {
            Map<List<Integer>, Long> pc = new HashMap<>();
            for (int w = 0; w < words.size(); w++) {
                List<Integer> s = words.get(w);
                for (int i = 0; i + 1 < s.size(); i++) pc.merge(List.of(s.get(i), s.get(i + 1)), (long) freq.get(w), Long::sum);
            }
            List<Integer> best = null;
            long bc = 0;
            for (Map.Entry<List<Integer>, Long> e : pc.entrySet()) {
                List<Integer> p = e.getKey();
                long c = e.getValue();
                boolean better = c > bc || (c == bc && best != null
                        && (p.get(0) < best.get(0) || (p.get(0).equals(best.get(0)) && p.get(1) < best.get(1))));
                if (better) {
                    best = p;
                    bc = c;
                }
            }
            if (best == null || bc < 2) break;
            merges.add(new int[] {best.get(0), best.get(1)});
            for (int w = 0; w < words.size(); w++) words.set(w, mergeAll(words.get(w), best.get(0), best.get(1), 256 + m));
        }
        return merges.toArray(new int[0][]);
    }

    static List<Integer> bytesOf(String s) {
        List<Integer> out = new ArrayList<>();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) out.add(b & 0xFF);
        return out;
    }

    static List<Integer> mergeAll(List<Integer> s, int a, int b, int t) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < s.size(); ) {
            if (i + 1 < s.size() && s.get(i) == a && s.get(i + 1) == b) {
                out.add(t);
                i += 2;
            } else {
                out.add(s.get(i++));
            }
        }
        return out;
    }

    @Test
    void naiveHelperSanity() {
        // "aaab aaab": pairs (a,a)x4, (a,b)x2, ( ,a)... -> first merge is (a,a)
        int[][] m = naiveMerges("aaab aaab", 1);
        assertEquals(Arrays.toString(new int[] {'a', 'a'}), Arrays.toString(m[0]));
    }
}
