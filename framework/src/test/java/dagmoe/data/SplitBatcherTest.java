package dagmoe.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SplitBatcherTest {
    @Test
    void validationChunksAreExactlyFloorNfAndSpread() {
        for (int n : new int[] {1, 5, 20, 21, 37, 100, 1000}) {
            for (double f : new double[] {0.0, 0.01, 0.05, 0.1, 0.25, 0.5}) {
                List<Long> val = new ArrayList<>();
                for (long i = 0; i < n; i++) if (Split.isValidation(i, n, f)) val.add(i);
                long want = (long) Math.floor(n * f + 1e-9);
                if (f > 0 && want == 0) {
                    assertEquals(List.of((long) n - 1), val, "n=" + n + " f=" + f);
                } else {
                    assertEquals(want, val.size(), "n=" + n + " f=" + f);
                }
                // spread: no two validation chunks adjacent when f <= 0.5 (except f = 0.5 alternation)
                for (int k = 1; k < val.size(); k++) assertTrue(val.get(k) - val.get(k - 1) >= (f <= 0.34 ? 2 : 1));
            }
        }
    }

    @Test
    void textSplitIsDeterministicDisjointAndCovering() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 20_000; i++) sb.append("line ").append(i).append(" of the corpus\n");
        String text = sb.toString();
        String[] a = Split.splitText(text, 0.1), b = Split.splitText(text, 0.1);
        assertEquals(a[0], b[0]);
        assertEquals(a[1], b[1]);
        assertEquals(text.length(), a[0].length() + a[1].length());
        Set<String> train = new HashSet<>(List.of(a[0].split("\n"))), val = new HashSet<>(List.of(a[1].split("\n")));
        assertEquals(20_000, train.size() + val.size(), "every line in exactly one split, none cut");
        for (String v : val) assertFalse(train.contains(v));
        double share = a[1].length() / (double) text.length();
        assertTrue(share > 0.08 && share < 0.12, "validation share " + share);
        // validation lines come from several separate places of the corpus
        List<Integer> valLines = new ArrayList<>();
        for (String v : a[1].split("\n")) valLines.add(Integer.parseInt(v.split(" ")[1]));
        int runs = 1;
        for (int k = 1; k < valLines.size(); k++) if (valLines.get(k) != valLines.get(k - 1) + 1) runs++;
        assertTrue(runs >= 2, "runs " + runs);
    }

    static int[] iota(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = i;
        return t;
    }

    @Test
    void tokenSplitOfShardsMatchesChunkRule() {
        int n = 100_000;
        TokenSeq[] s = Split.splitTokens(TokenSeq.of(iota(n)), 0.1);
        assertEquals(n, s[0].size() + s[1].size());
        long chunk = Split.chunkSize(n);
        int[] val = s[1].toArray();
        long nChunks = (n + chunk - 1) / chunk;
        int k = 0;
        for (int i = 0; i < n; i++) if (Split.isValidation(i / chunk, nChunks, 0.1)) assertEquals(i, val[k++]);
        assertEquals(val.length, k);
        int[] train = s[0].toArray();
        Set<Integer> vs = new HashSet<>();
        for (int v : val) vs.add(v);
        for (int t : train) assertFalse(vs.contains(t));
    }

    @Test
    void batcherWindowsAreShiftedPairsAndResumeExactly() {
        TokenSeq tokens = TokenSeq.of(iota(5000));
        Batcher full = new Batcher(tokens, 4, 16, 1234);
        List<Batch> straight = new ArrayList<>();
        for (int i = 0; i < 7; i++) straight.add(full.next());
        for (Batch b : straight) {
            for (int r = 0; r < 4; r++) {
                int start = b.inputs()[r * 16];
                assertTrue(start >= 0 && start + 16 < 5000);
                for (int t = 0; t < 16; t++) {
                    assertEquals(start + t, b.inputs()[r * 16 + t]);
                    assertEquals(start + t + 1, b.targets()[r * 16 + t]);
                }
            }
        }
        Batcher first = new Batcher(tokens, 4, 16, 1234);
        for (int i = 0; i < 3; i++) assertArrayEquals(straight.get(i).inputs(), first.next().inputs());
        long saved = first.cursor();
        Batcher resumed = new Batcher(tokens, 4, 16, 1234);
        resumed.seek(saved);
        for (int i = 3; i < 7; i++) {
            Batch b = resumed.next();
            assertArrayEquals(straight.get(i).inputs(), b.inputs());
            assertArrayEquals(straight.get(i).targets(), b.targets());
        }
        assertNotEquals(straight.get(0).inputs()[0], new Batcher(tokens, 4, 16, 99).next().inputs()[0]);
        // starts cover the whole range, roughly uniformly
        Batcher many = new Batcher(tokens, 1, 16, 7);
        int low = 0;
        for (int i = 0; i < 4000; i++) if (many.next().inputs()[0] < 2492) low++;
        assertTrue(low > 1800 && low < 2200, "low half " + low);
        assertThrows(DataException.class, () -> new Batcher(TokenSeq.of(iota(16)), 1, 16, 0));
    }

    @Test
    void evalBatchesAreSequentialAndPadded() {
        TokenSeq val = TokenSeq.of(iota(101)); // 100 / 8 = 12 windows of 8
        List<Batch> all = Batcher.evalBatches(val, 5, 8, 0);
        assertEquals(3, all.size());
        for (int j = 0; j < 12; j++) {
            Batch b = all.get(j / 5);
            int r = j % 5;
            for (int t = 0; t < 8; t++) {
                assertEquals(j * 8 + t, b.inputs()[r * 8 + t]);
                assertEquals(j * 8 + t + 1, b.targets()[r * 8 + t]);
            }
        }
        Batch last = all.get(2);
        for (int i = 2 * 8; i < 5 * 8; i++) assertEquals(-1, last.targets()[i]);
        assertEquals(16, last.targetCount());
        assertEquals(2, Batcher.evalBatches(val, 5, 8, 2).size());
        assertArrayEquals(all.get(1).inputs(), Batcher.evalBatches(val, 5, 8, 2).get(1).inputs());
        assertThrows(DataException.class, () -> Batcher.evalBatches(TokenSeq.of(iota(8)), 1, 8, 1));
        assertEquals(0, Batcher.evalBatches(TokenSeq.of(new int[0]), 1, 8, 1).size(), "val_fraction = 0: no evaluation");
    }

    @Test
    void concatAndSliceReadAcrossParts() {
        TokenSeq c = TokenSeq.concat(List.of(TokenSeq.of(new int[] {0, 1, 2}), TokenSeq.of(new int[0]), TokenSeq.of(new int[] {3, 4}),
                TokenSeq.of(iota(10)).slice(5, 3)));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, c.toArray());
        int[] w = new int[4];
        c.read(2, w, 0, 4);
        assertArrayEquals(new int[] {2, 3, 4, 5}, w);
        assertEquals(7, c.get(7));
    }

    @Test
    void datasetTrainsBpeOnTheTrainSplitOnly(@TempDir Path dir) throws Exception {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 3000; i++) sb.append(i % 10 == 9 ? "zebra quagga okapi " : "the cat sat on the mat ").append(i).append('\n');
        Path f = dir.resolve("c.txt");
        Files.writeString(f, sb.toString());
        DataSpec spec = DataSpec.of(f.toString()).withTokenizer("bpe", 300);
        TokenDataset d = TokenDataset.load(spec, null);
        String[] split = Split.splitText(sb.toString(), 0.1);
        assertEquals(BpeTokenizer.train(split[0], 300), d.tokenizer());
        assertEquals(split[0], d.tokenizer().decode(d.train().toArray()));
        assertEquals(split[1], d.tokenizer().decode(d.val().toArray()));
        // reloading with the saved tokenizer gives the same ids
        d.tokenizer().save(dir.resolve("run"));
        TokenDataset again = TokenDataset.load(spec, Tokenizers.load(dir.resolve("run")));
        assertArrayEquals(d.val().toArray(), again.val().toArray());
    }

    @Test
    void datasetFromLlmcShards(@TempDir Path dir) throws Exception {
        int[] tokens = new int[50_000];
        for (int i = 0; i < tokens.length; i++) tokens[i] = (i * 7919) % 50257;
        TextSourceTest.writeLlmc(dir.resolve("train_000.bin"), 1, 30_000, java.util.Arrays.copyOf(tokens, 30_000));
        TextSourceTest.writeLlmc(dir.resolve("train_001.bin"), 1, 20_000, java.util.Arrays.copyOfRange(tokens, 30_000, 50_000));
        TokenDataset d = TokenDataset.load(DataSpec.of(dir.toString()).withTokenizer("gpt2", 0), null);
        assertEquals(50_000, d.train().size() + d.val().size());
        TokenSeq[] want = Split.splitTokens(TokenSeq.of(tokens), 0.1);
        assertArrayEquals(want[1].toArray(), d.val().toArray());
        assertArrayEquals(want[0].toArray(), d.train().toArray());
        // max_bytes caps the token data read: 20,000 bytes = 10,000 uint16 tokens
        TokenDataset capped = TokenDataset.load(DataSpec.of(dir.resolve("train_*.bin").toString()).withTokenizer("gpt2", 0).withMaxBytes(20_000), null);
        assertEquals(10_000, capped.train().size() + capped.val().size());
    }

    @Test
    void sharedCorpusIfPresent() {
        Path kjv = SharedData.file("kjv.txt");
        Assumptions.assumeTrue(kjv != null, "../shared/data/kjv.txt absent: skipped");
        TokenDataset d = TokenDataset.load(DataSpec.of(kjv.toString()).withMaxBytes(1_000_000), null);
        assertEquals(1_000_000, d.train().size() + d.val().size(), 4);
        List<Batch> eval = Batcher.evalBatches(d.val(), 8, 64, 4);
        assertEquals(4, eval.size());
    }
}
