package dagmoe.data.tasks;

import java.util.Arrays;

/**
 * One task example: tokens = prompt followed by the answer token(s) (unpadded); the answer is
 * tokens[answerStart ..]. level is the difficulty the accuracy is broken down by (hops: k; compose:
 * the number of operations; lis: the answer, the LIS length).
 */
public record Example(int[] tokens, int answerStart, int level) {
    public int[] answer() {
        return Arrays.copyOfRange(tokens, answerStart, tokens.length);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Example e && Arrays.equals(tokens, e.tokens) && answerStart == e.answerStart && level == e.level;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(tokens);
    }

    @Override
    public String toString() {
        return Arrays.toString(tokens) + " answer@" + answerStart + " level " + level;
    }
}
