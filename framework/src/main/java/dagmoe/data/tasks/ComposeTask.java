package dagmoe.data.tasks;

import java.util.SplittableRandom;

/**
 * compose: modular arithmetic evaluated left to right, two or three dependent steps:
 * <pre>
 *   a op1 b op2 c [op3 d] = ((a op1 b) op2 c) op3 d  mod p
 * </pre>
 * Tokens: numbers 0..p-1 = 5..5+p-1; operators + − × = 5+p, 5+p+1, 5+p+2. Params: p (11),
 * steps_min (2), steps_max (3), ops (a subset of "+-*", default all three). Level = the number of
 * operations (steps).
 */
public final class ComposeTask implements ReasoningTask {
    public static final String NAME = "compose";
    static final String OPS = "+-*";
    final int p, stepsMin, stepsMax;
    final int[] ops; // indices into OPS

    public ComposeTask(int p, int stepsMin, int stepsMax, String ops) {
        this.p = p;
        this.stepsMin = stepsMin;
        this.stepsMax = stepsMax;
        this.ops = ops.chars().map(OPS::indexOf).toArray();
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override public int vocabSize() { return FIRST + p + 3; }
    @Override public int maxLength() { return 2 * stepsMax + 3; }
    @Override public int maxLevel() { return stepsMax; }

    int num(int v) { return FIRST + v; }
    int op(int o) { return FIRST + p + o; }
    int apply(int acc, int o, int v) {
        return switch (o) {
            case 0 -> (acc + v) % p;
            case 1 -> Math.floorMod(acc - v, p);
            default -> (int) ((long) acc * v % p);
        };
    }

    @Override
    public Example sample(SplittableRandom rnd) {
        int steps = stepsMin + rnd.nextInt(stepsMax - stepsMin + 1);
        int[] t = new int[2 * steps + 3];
        int acc = rnd.nextInt(p), q = 0;
        t[q++] = num(acc);
        for (int s = 0; s < steps; s++) {
            int o = ops[rnd.nextInt(ops.length)], v = rnd.nextInt(p);
            t[q++] = op(o);
            t[q++] = num(v);
            acc = apply(acc, o, v);
        }
        t[q++] = ANSWER;
        t[q] = num(acc);
        return new Example(t, q, steps);
    }

    @Override
    public int[] solve(int[] prompt) {
        int acc = prompt[0] - FIRST;
        for (int i = 1; i + 1 < prompt.length && prompt[i] != ANSWER; i += 2) acc = apply(acc, prompt[i] - FIRST - p, prompt[i + 1] - FIRST);
        return new int[] {num(acc)};
    }

    @Override
    public String symbol(int t) {
        return t == ANSWER ? "=" : t < FIRST ? "#" + t : t < FIRST + p ? String.valueOf(t - FIRST) : String.valueOf(OPS.charAt(t - FIRST - p));
    }
}
