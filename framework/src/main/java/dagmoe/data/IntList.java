package dagmoe.data;

import java.util.Arrays;

/** A growable int[] (token ids without boxing). */
final class IntList {
    private int[] a;
    private int n;

    IntList(int capacity) {
        a = new int[Math.max(1, capacity)];
    }

    void add(int v) {
        if (n == a.length) grow(n + 1);
        a[n++] = v;
    }

    void addAll(int[] v) {
        if (n + v.length > a.length) grow(n + v.length);
        System.arraycopy(v, 0, a, n, v.length);
        n += v.length;
    }

    private void grow(int min) {
        long cap = Math.max((long) min, a.length + (a.length >> 1) + 16L);
        if (cap > Integer.MAX_VALUE - 16) {
            if (min > Integer.MAX_VALUE - 16) throw new DataException("more than 2^31 tokens in memory: cap data.max_bytes or convert the corpus to .bin shards");
            cap = Integer.MAX_VALUE - 16;
        }
        a = Arrays.copyOf(a, (int) cap);
    }

    int get(int i) {
        return a[i];
    }

    void clear() {
        n = 0;
    }

    int size() {
        return n;
    }

    int[] toArray() {
        return Arrays.copyOf(a, n);
    }
}
