package dagmoe.data.tasks;

import java.util.SplittableRandom;

/**
 * lis: the length of the longest strictly increasing subsequence of a short sequence of small
 * integers (the dynamic-programming example of the paper's theory).
 * <pre>
 *   x1 x2 ... xL = LIS(x)
 * </pre>
 * Tokens: values 0..M-1 = 5..5+M-1 with M = max(max_value, length + 1), so the answer (1..L) is a
 * value token too. Params: length (8), min_length (= length), max_value (10: values 0..9).
 * Level = the answer.
 */
public final class LisTask implements ReasoningTask {
    public static final String NAME = "lis";
    final int length, minLength, maxValue, m;

    public LisTask(int length, int minLength, int maxValue) {
        this.length = length;
        this.minLength = minLength;
        this.maxValue = maxValue;
        this.m = Math.max(maxValue, length + 1);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override public int vocabSize() { return FIRST + m; }
    @Override public int maxLength() { return length + 2; }
    @Override public int maxLevel() { return length; }

    /** O(L^2) dynamic programme: best[i] = longest increasing subsequence ending at i. */
    static int lis(int[] x, int from, int to) {
        int[] best = new int[to - from];
        int out = 0;
        for (int i = from; i < to; i++) {
            int b = 1;
            for (int j = from; j < i; j++) if (x[j] < x[i]) b = Math.max(b, best[j - from] + 1);
            best[i - from] = b;
            out = Math.max(out, b);
        }
        return out;
    }

    @Override
    public Example sample(SplittableRandom rnd) {
        int len = minLength + rnd.nextInt(length - minLength + 1);
        int[] t = new int[len + 2];
        for (int i = 0; i < len; i++) t[i] = FIRST + rnd.nextInt(maxValue);
        int ans = lis(t, 0, len);
        t[len] = ANSWER;
        t[len + 1] = FIRST + ans;
        return new Example(t, len + 1, ans);
    }

    @Override
    public int[] solve(int[] prompt) {
        int len = 0;
        while (len < prompt.length && prompt[len] != ANSWER) len++;
        return new int[] {FIRST + lis(prompt, 0, len)};
    }

    @Override
    public String symbol(int t) {
        return t == ANSWER ? "=" : t < FIRST ? "#" + t : String.valueOf(t - FIRST);
    }
}
