package dagmoe.data;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte-level BPE trained on the training split (the "bpe" tokenizer).
 *
 * <p>Ids 0..255 are the UTF-8 bytes; merge r joins the pair (left[r], right[r]) into id 256 + r. Text
 * is first cut into chunks by GPT-2's pre-tokenizer pattern (words with their leading space, digit
 * runs, punctuation runs, whitespace), and merges never cross a chunk boundary; every character of
 * the text lands in exactly one chunk, so decode(encode(s)) == s.
 *
 * <p>Training ({@link #train}): word counts, then repeatedly merge the most frequent adjacent pair;
 * ties go to the lowest (left, right) ids, so the result does not depend on hash order. Pair counts
 * are updated incrementally (only the words that hold the merged pair are touched) with a lazy
 * max-heap, so a few MB train in seconds. Training stops at the requested vocabulary or when no pair
 * occurs at least twice, whichever is first: {@link #vocabSize()} is 256 + the merges learned.
 */
public final class BpeTokenizer implements Tokenizer {
    public static final String NAME = "bpe";
    /** GPT-2's pre-tokenizer pattern. */
    static final Pattern PRETOKENIZER =
            Pattern.compile("'(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+");
    private static final int CACHE_LIMIT = 1 << 18;

    private final int[] left, right;          // [merges]
    private final LongIntMap rank;             // pair key -> merge index
    private final byte[][] bytesOf;           // [vocab] the bytes each id stands for
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    private BpeTokenizer(int[] left, int[] right) {
        this.left = left;
        this.right = right;
        int m = left.length;
        rank = new LongIntMap(m);
        bytesOf = new byte[256 + m][];
        for (int i = 0; i < 256; i++) bytesOf[i] = new byte[] {(byte) i};
        for (int r = 0; r < m; r++) {
            int a = left[r], b = right[r];
            if (a < 0 || b < 0 || a >= 256 + r || b >= 256 + r) {
                throw new IllegalArgumentException("bpe merge " + r + " = [" + a + ", " + b + "]: ids must be earlier tokens (< " + (256 + r) + ")");
            }
            if (rank.get(key(a, b)) >= 0) {
                throw new IllegalArgumentException("bpe merge " + r + " = [" + a + ", " + b + "] repeats an earlier merge");
            }
            rank.put(key(a, b), r);
            byte[] x = bytesOf[a], y = bytesOf[b];
            byte[] xy = Arrays.copyOf(x, x.length + y.length);
            System.arraycopy(y, 0, xy, x.length, y.length);
            bytesOf[256 + r] = xy;
        }
    }

    /** A tokenizer from a merge list ([r][0] = left id, [r][1] = right id). */
    public static BpeTokenizer fromMerges(int[][] merges) {
        int[] l = new int[merges.length], r = new int[merges.length];
        for (int i = 0; i < merges.length; i++) {
            if (merges[i].length != 2) throw new IllegalArgumentException("bpe merge " + i + ": expected a pair of ids");
            l[i] = merges[i][0];
            r[i] = merges[i][1];
        }
        return new BpeTokenizer(l, r);
    }

    /** The merges in order: [r] = {left, right}; id 256 + r. */
    public int[][] merges() {
        int[][] m = new int[left.length][];
        for (int r = 0; r < left.length; r++) m[r] = new int[] {left[r], right[r]};
        return m;
    }

    private static long key(int a, int b) {
        return ((long) a << 32) | (b & 0xFFFFFFFFL);
    }

    /** Calls sink with each pre-tokenizer chunk of text, in order; their concatenation is text. */
    static void forEachChunk(String text, Consumer<String> sink) {
        Matcher m = PRETOKENIZER.matcher(text);
        int last = 0;
        while (m.find()) {
            if (m.start() > last) sink.accept(text.substring(last, m.start())); // never happens with this pattern; kept for safety
            sink.accept(text.substring(m.start(), m.end()));
            last = m.end();
        }
        if (last < text.length()) sink.accept(text.substring(last));
    }

    // ---------------------------------------------------------------- training

    /** Per adjacent pair (by pair id): its count over the corpus and the words that hold (or held) it. */
    private static final class Pairs {
        final LongIntMap id = new LongIntMap(1 << 16); // pair key -> pair id
        long[] keys = new long[1 << 12];
        long[] count = new long[1 << 12];
        int[][] words = new int[1 << 12][];
        int[] nWords = new int[1 << 12];
        int[] lastWord = new int[1 << 12];
        int[] stamp = new int[1 << 12]; // merge number that last marked the pair dirty
        int n;

        int idOf(long key) {
            int p = id.get(key);
            if (p >= 0) return p;
            if (n == keys.length) {
                int c = n * 2;
                keys = Arrays.copyOf(keys, c);
                count = Arrays.copyOf(count, c);
                words = Arrays.copyOf(words, c);
                nWords = Arrays.copyOf(nWords, c);
                lastWord = Arrays.copyOf(lastWord, c);
                stamp = Arrays.copyOf(stamp, c);
            }
            p = n++;
            keys[p] = key;
            words[p] = new int[4];
            lastWord[p] = -1;
            stamp[p] = -1;
            id.put(key, p);
            return p;
        }

        void addWord(int p, int w) {
            if (lastWord[p] == w) return;
            lastWord[p] = w;
            if (nWords[p] == words[p].length) words[p] = Arrays.copyOf(words[p], nWords[p] * 2);
            words[p][nWords[p]++] = w;
        }
    }

    /** Binary max-heap over parallel arrays: larger count first, then smaller key. */
    private static final class PairHeap {
        long[] count, key;
        int[] id;
        int size;

        PairHeap(int capacity) {
            count = new long[capacity];
            key = new long[capacity];
            id = new int[capacity];
        }

        private boolean above(int i, int j) { // entry i belongs above entry j
            return count[i] != count[j] ? count[i] > count[j] : key[i] < key[j];
        }

        private void swap(int i, int j) {
            long c = count[i], k = key[i];
            int d = id[i];
            count[i] = count[j];
            key[i] = key[j];
            id[i] = id[j];
            count[j] = c;
            key[j] = k;
            id[j] = d;
        }

        void push(long c, long k, int p) {
            if (size == count.length) {
                count = Arrays.copyOf(count, size * 2);
                key = Arrays.copyOf(key, size * 2);
                id = Arrays.copyOf(id, size * 2);
            }
            int i = size++;
            count[i] = c;
            key[i] = k;
            id[i] = p;
            while (i > 0 && above(i, (i - 1) / 2)) {
                swap(i, (i - 1) / 2);
                i = (i - 1) / 2;
            }
        }

        void pop() {
            swap(0, --size);
            int i = 0;
            while (true) {
                int l = 2 * i + 1, r = l + 1, m = i;
                if (l < size && above(l, m)) m = l;
                if (r < size && above(r, m)) m = r;
                if (m == i) return;
                swap(i, m);
                i = m;
            }
        }
    }

    /**
     * Trains on text until the vocabulary reaches vocabSize (>= 256) or no pair occurs twice.
     * Deterministic: the same text and size give the same merges.
     */
    public static BpeTokenizer train(String text, int vocabSize) {
        if (vocabSize < 256) throw new IllegalArgumentException("data.bpe_vocab = " + vocabSize + ": must be >= 256");
        HashMap<String, long[]> counts = new HashMap<>();
        forEachChunk(text, s -> counts.computeIfAbsent(s, k -> new long[1])[0]++);
        String[] words = counts.keySet().toArray(new String[0]);
        Arrays.sort(words); // word ids independent of hash order
        int nw = words.length;
        int[][] sym = new int[nw][];
        int[] len = new int[nw];
        long[] freq = new long[nw];
        Pairs pairs = new Pairs();
        for (int w = 0; w < nw; w++) {
            byte[] b = words[w].getBytes(StandardCharsets.UTF_8);
            sym[w] = new int[b.length];
            for (int i = 0; i < b.length; i++) sym[w][i] = b[i] & 0xFF;
            len[w] = b.length;
            freq[w] = counts.get(words[w])[0];
            for (int i = 0; i + 1 < len[w]; i++) {
                int p = pairs.idOf(key(sym[w][i], sym[w][i + 1]));
                pairs.count[p] += freq[w];
                pairs.addWord(p, w);
            }
        }
        // Lazy max-heap of (count, key, id). Invariant: every pair with a positive count has an entry whose
        // stored count is >= its current count. Counts that rise (pairs holding the new token) are pushed
        // at once; counts that fall are fixed when their stale entry reaches the top. So the first entry
        // popped whose stored count is current is the true maximum, ties to the lowest key.
        PairHeap heap = new PairHeap(pairs.n + 1024);
        for (int p = 0; p < pairs.n; p++) heap.push(pairs.count[p], pairs.keys[p], p);

        int maxMerges = vocabSize - 256;
        int[] ml = new int[maxMerges], mr = new int[maxMerges];
        int nm = 0;
        int[] seen = new int[nw];
        Arrays.fill(seen, -1);
        IntList dirty = new IntList(1024);
        while (nm < maxMerges) {
            if (heap.size == 0) break;
            long topCount = heap.count[0], topKey = heap.key[0];
            int best = heap.id[0];
            heap.pop();
            if (pairs.count[best] != topCount) { // stale: re-enter with the current count
                if (pairs.count[best] > 0) heap.push(pairs.count[best], topKey, best);
                continue;
            }
            if (topCount < 2) break;
            int a = (int) (topKey >>> 32), b = (int) topKey, t = 256 + nm;
            ml[nm] = a;
            mr[nm] = b;
            nm++;
            dirty.clear();
            int[] bestWords = pairs.words[best];
            int nBest = pairs.nWords[best];
            for (int k = 0; k < nBest; k++) {
                int w = bestWords[k];
                if (seen[w] == t) continue;
                seen[w] = t;
                int[] s = sym[w];
                int n = len[w];
                boolean holds = false;
                for (int i = 0; i + 1 < n && !holds; i++) holds = s[i] == a && s[i + 1] == b;
                if (!holds) continue; // the pair was merged away by an earlier merge
                long f = freq[w];
                for (int i = 0; i + 1 < n; i++) {
                    int p = pairs.id.get(key(s[i], s[i + 1]));
                    pairs.count[p] -= f;
                }
                int j = mergeInPlace(s, n, a, b, t);
                len[w] = j;
                for (int i = 0; i + 1 < j; i++) {
                    int p = pairs.idOf(key(s[i], s[i + 1]));
                    pairs.count[p] += f;
                    // pairs without t were in this word before, so w is already listed for them
                    if (s[i] == t || s[i + 1] == t) {
                        pairs.addWord(p, w);
                        if (pairs.stamp[p] != t) { // a rising count: push it after this merge
                            pairs.stamp[p] = t;
                            dirty.add(p);
                        }
                    }
                }
            }
            pairs.count[best] = 0;
            pairs.words[best] = new int[0];
            pairs.nWords[best] = 0;
            for (int i = 0; i < dirty.size(); i++) {
                int p = dirty.get(i);
                if (pairs.count[p] > 0) heap.push(pairs.count[p], pairs.keys[p], p);
            }
        }
        return new BpeTokenizer(Arrays.copyOf(ml, nm), Arrays.copyOf(mr, nm));
    }

    // ---------------------------------------------------------------- encode / decode

    @Override
    public int[] encode(String text) {
        IntList out = new IntList(Math.max(16, text.length() / 3));
        forEachChunk(text, chunk -> out.addAll(encodeChunk(chunk)));
        return out.toArray();
    }

    private int[] encodeChunk(String chunk) {
        int[] cached = cache.get(chunk);
        if (cached != null) return cached;
        byte[] bs = chunk.getBytes(StandardCharsets.UTF_8);
        int n = bs.length;
        int[] s = new int[n];
        for (int i = 0; i < n; i++) s[i] = bs[i] & 0xFF;
        while (n >= 2) {
            // merge the earliest-learned pair present, everywhere in the chunk, as training did
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < n; i++) {
                int r = rank.get(key(s[i], s[i + 1]));
                if (r >= 0 && r < bestRank) bestRank = r;
            }
            if (bestRank == Integer.MAX_VALUE) break;
            n = mergeInPlace(s, n, left[bestRank], right[bestRank], 256 + bestRank);
        }
        int[] ids = Arrays.copyOf(s, n);
        if (cache.size() >= CACHE_LIMIT) cache.clear();
        cache.put(chunk, ids);
        return ids;
    }

    @Override
    public String decode(int[] ids) {
        int total = 0;
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= bytesOf.length) {
                throw new IllegalArgumentException("bpe tokenizer: id " + ids[i] + " at " + i + " is outside [0, " + bytesOf.length + ")");
            }
            total += bytesOf[ids[i]].length;
        }
        byte[] out = new byte[total];
        int o = 0;
        for (int id : ids) {
            byte[] b = bytesOf[id];
            System.arraycopy(b, 0, out, o, b.length);
            o += b.length;
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return bytesOf.length;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void save(Path dir) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("type", NAME);
        json.put("vocab_size", vocabSize());
        json.put("pretokenizer", "gpt2-pattern");
        List<int[]> m = new ArrayList<>(List.of(merges()));
        json.put("merges", m);
        Tokenizers.writeJson(dir, json);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BpeTokenizer other && Arrays.equals(left, other.left) && Arrays.equals(right, other.right);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(left) + Arrays.hashCode(right);
    }

    /** Replaces every adjacent (a, b) in s[0, n) by t, left to right; returns the new length. */
    private static int mergeInPlace(int[] s, int n, int a, int b, int t) {
        int j = 0;
        for (int i = 0; i < n; ) {
            if (i + 1 < n && s[i] == a && s[i + 1] == b) {
                s[j++] = t;
                i += 2;
            } else {
                s[j++] = s[i++];
            }
        }
        return j;
    }
}
