package dagmoe.data;

import java.util.Arrays;

/**
 * Open-addressing map from non-negative long keys to int values (absent: -1). BPE pair keys
 * (left << 32 | right) make Long.hashCode collide (it is left ^ right), so keys are mixed here.
 */
final class LongIntMap {
    private long[] keys;
    private int[] vals;
    private int size, mask;

    LongIntMap(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2 - 1)) << 1;
        keys = new long[cap];
        vals = new int[cap];
        Arrays.fill(keys, -1);
        mask = cap - 1;
    }

    private static int slot(long k, int mask) {
        long z = k * 0x9E3779B97F4A7C15L;
        return (int) (z ^ (z >>> 29) ^ (z >>> 43)) & mask;
    }

    int get(long key) {
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) return vals[i];
            if (k == -1) return -1;
        }
    }

    /** Sets key -> value (value >= 0). */
    void put(long key, int value) {
        if (2 * (size + 1) > keys.length) grow();
        for (int i = slot(key, mask); ; i = (i + 1) & mask) {
            long k = keys[i];
            if (k == key) {
                vals[i] = value;
                return;
            }
            if (k == -1) {
                keys[i] = key;
                vals[i] = value;
                size++;
                return;
            }
        }
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] ok = keys;
        int[] ov = vals;
        keys = new long[ok.length * 2];
        vals = new int[ok.length * 2];
        Arrays.fill(keys, -1);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < ok.length; i++) if (ok[i] != -1) put(ok[i], ov[i]);
    }
}
