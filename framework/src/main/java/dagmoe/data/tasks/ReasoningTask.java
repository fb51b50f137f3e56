package dagmoe.data.tasks;

import java.util.SplittableRandom;

/**
 * A synthetic multi-step reasoning task (issue 7): a seeded generator of examples over a small
 * vocabulary. Token ids 0..4 are shared by all tasks ({@link #PAD}, {@link #SEP}, {@link #MAP},
 * {@link #QUERY}, {@link #ANSWER}); each task's own tokens start at {@link #FIRST}.
 */
public interface ReasoningTask {
    int PAD = 0;
    /** "," between items. */
    int SEP = 1;
    /** "→" in a pair a → b. */
    int MAP = 2;
    /** "?" before a query. */
    int QUERY = 3;
    /** "=" before the answer. */
    int ANSWER = 4;
    int FIRST = 5;

    String name();

    int vocabSize();

    /** The longest example (prompt + answer) this task can produce. */
    int maxLength();

    /** The largest level (difficulty) an example can have. */
    int maxLevel();

    /** One example; everything random comes from rnd. */
    Example sample(SplittableRandom rnd);

    /** The correct answer of a prompt, computed from the tokens (used by tests and generate). */
    int[] solve(int[] prompt);

    /** The text of one token (not PAD), e.g. "s3", "→", "=". */
    String symbol(int token);

    /** Human-readable text of tokens, e.g. "s3→s1 , s1→s0 , ? s3 k2 = s0": the symbols, PAD left out. */
    default String render(int[] tokens) {
        StringBuilder sb = new StringBuilder();
        for (int t : tokens) {
            if (t == PAD) continue;
            if (sb.length() > 0) sb.append(' ');
            sb.append(symbol(t));
        }
        return sb.toString();
    }
}
