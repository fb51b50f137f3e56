package dagmoe.data;

import java.util.ArrayList;
import java.util.List;

/**
 * The deterministic train/validation split.
 *
 * <p>The corpus (text in chars, or a token shard set in tokens) is cut into contiguous chunks of
 * {@link #chunkSize} units — 65,536, or total/20 for corpora smaller than 20 such chunks, so every
 * corpus has at least 20 chunks. Text chunks end at the first '\n' at or after that length, so no
 * line is split. Chunk i (of n) goes to validation iff floor((i+1)·f) &gt; floor(i·f), f =
 * data.val_fraction: exactly floor(n·f) validation chunks spread evenly through the corpus (the last
 * chunk alone when that is 0 and f &gt; 0). The split depends only on the corpus text (or tokens) and f:
 * not on the seed, the tokenizer or the model, so every seed and variant is scored on the same text.
 */
public final class Split {
    public static final long CHUNK = 1 << 16;
    public static final int MIN_CHUNKS = 20;

    private Split() {}

    public static long chunkSize(long total) {
        return total >= MIN_CHUNKS * CHUNK ? CHUNK : Math.max(1, total / MIN_CHUNKS);
    }

    public static boolean isValidation(long chunk, long nChunks, double valFraction) {
        if (valFraction <= 0) return false;
        long nVal = (long) Math.floor(nChunks * valFraction + 1e-9);
        if (nVal == 0) return chunk == nChunks - 1;
        return (long) Math.floor((chunk + 1) * valFraction + 1e-9) > (long) Math.floor(chunk * valFraction + 1e-9);
    }

    /** Chunk boundaries of text: [0, e0), [e0, e1), ... ; returns the end offsets. */
    public static List<Integer> textChunkEnds(String text) {
        int n = text.length();
        long size = chunkSize(n);
        List<Integer> ends = new ArrayList<>();
        int start = 0;
        while (start < n) {
            long target = start + size;
            int end;
            if (target >= n) {
                end = n;
            } else {
                int nl = text.indexOf('\n', (int) target - 1);
                if (nl >= 0 && nl - start < 4 * size) {
                    end = nl + 1;
                } else { // a very long line: cut it, but not inside a surrogate pair
                    end = (int) target;
                    if (Character.isHighSurrogate(text.charAt(end - 1))) end++;
                }
            }
            ends.add(end);
            start = end;
        }
        return ends;
    }

    /** The text split: [0] = train text, [1] = validation text (chunks concatenated in order). */
    public static String[] splitText(String text, double valFraction) {
        List<Integer> ends = textChunkEnds(text);
        StringBuilder train = new StringBuilder(text.length()), val = new StringBuilder();
        int start = 0;
        for (int i = 0; i < ends.size(); i++) {
            (isValidation(i, ends.size(), valFraction) ? val : train).append(text, start, ends.get(i));
            start = ends.get(i);
        }
        return new String[] {train.toString(), val.toString()};
    }

    /** The token split of a shard set: [0] = train, [1] = validation (chunks concatenated in order). */
    public static TokenSeq[] splitTokens(TokenSeq all, double valFraction) {
        long total = all.size(), size = chunkSize(total);
        long nChunks = (total + size - 1) / size;
        List<TokenSeq> train = new ArrayList<>(), val = new ArrayList<>();
        // runs of consecutive chunks with the same side become one slice
        long runStart = 0;
        boolean runVal = isValidation(0, nChunks, valFraction);
        for (long c = 1; c <= nChunks; c++) {
            boolean v = c < nChunks && isValidation(c, nChunks, valFraction);
            if (c == nChunks || v != runVal) {
                long from = runStart * size, to = Math.min(total, c * size);
                (runVal ? val : train).add(all.slice(from, to - from));
                runStart = c;
                runVal = v;
            }
        }
        return new TokenSeq[] {train.isEmpty() ? TokenSeq.of(new int[0]) : TokenSeq.concat(train),
                val.isEmpty() ? TokenSeq.of(new int[0]) : TokenSeq.concat(val)};
    }
}
