package dagmoe.data.tasks;

import java.util.SplittableRandom;

/**
 * hops: a random function f over n symbols written in context as pairs, then a query symbol x and a
 * hop count k; the answer is f^k(x), the symbol reached after k applications.
 *
 * <pre>
 *   s3 → s1 , s0 → s2 , ... (all n pairs, in random order) ? x k&lt;k&gt; = f^k(x)
 * </pre>
 * Tokens: symbols s0..s(n-1) = 5..5+n-1; hop counts k1..k(k_max) = 5+n .. 5+n+k_max-1. Length 4n + 5.
 * Params: n (8), k_min (1), k_max (4), function ("random": f(a) uniform over all n symbols;
 * "permutation": f is a random bijection, so no two hops collapse). Level = k.
 */
public final class HopsTask implements ReasoningTask {
    public static final String NAME = "hops";
    final int n, kMin, kMax;
    final boolean permutation;

    public HopsTask(int n, int kMin, int kMax, boolean permutation) {
        this.n = n;
        this.kMin = kMin;
        this.kMax = kMax;
        this.permutation = permutation;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override public int vocabSize() { return FIRST + n + kMax; }
    @Override public int maxLength() { return 4 * n + 5; }
    @Override public int maxLevel() { return kMax; }

    int sym(int a) { return FIRST + a; }
    int hop(int k) { return FIRST + n + k - 1; }

    @Override
    public Example sample(SplittableRandom rnd) {
        int[] f = new int[n];
        if (permutation) {
            for (int i = 0; i < n; i++) f[i] = i;
            shuffle(f, rnd);
        } else {
            for (int i = 0; i < n; i++) f[i] = rnd.nextInt(n);
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        shuffle(order, rnd);
        int x = rnd.nextInt(n), k = kMin + rnd.nextInt(kMax - kMin + 1);
        int y = x;
        for (int h = 0; h < k; h++) y = f[y];
        int[] t = new int[4 * n + 5];
        int p = 0;
        for (int a : order) {
            t[p++] = sym(a);
            t[p++] = MAP;
            t[p++] = sym(f[a]);
            t[p++] = SEP;
        }
        t[p++] = QUERY;
        t[p++] = sym(x);
        t[p++] = hop(k);
        t[p++] = ANSWER;
        t[p] = sym(y);
        return new Example(t, p, k);
    }

    static void shuffle(int[] a, SplittableRandom rnd) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), tmp = a[i];
            a[i] = a[j];
            a[j] = tmp;
        }
    }

    @Override
    public int[] solve(int[] prompt) {
        int[] f = new int[n];
        for (int i = 0; i + 2 < prompt.length && prompt[i] != QUERY; i += 4) f[prompt[i] - FIRST] = prompt[i + 2] - FIRST;
        int q = 4 * n;
        int y = prompt[q + 1] - FIRST, k = prompt[q + 2] - FIRST - n + 1;
        for (int h = 0; h < k; h++) y = f[y];
        return new int[] {sym(y)};
    }

    @Override
    public String symbol(int t) {
        return t == SEP ? "," : t == MAP ? "→" : t == QUERY ? "?" : t == ANSWER ? "=" : t < FIRST + n ? "s" + (t - FIRST) : "k" + (t - FIRST - n + 1);
    }
}
