package dagmoe.data;

import java.util.Arrays;
import java.util.List;

/**
 * A read-only sequence of token ids addressed by a long index: an int[] in memory, a memory-mapped
 * token shard ({@link TokenShards}), or slices and concatenations of those. Large shard sets are
 * never copied into the heap; batches read windows with {@link #read}.
 */
public interface TokenSeq {
    long size();

    /** dst[off .. off+len) = tokens [start .. start+len). */
    void read(long start, int[] dst, int off, int len);

    default int get(long i) {
        int[] one = new int[1];
        read(i, one, 0, 1);
        return one[0];
    }

    /** All tokens as an int[] (only for sequences that fit). */
    default int[] toArray() {
        if (size() > Integer.MAX_VALUE - 16) throw new IllegalStateException("too many tokens for an int[]: " + size());
        int[] a = new int[(int) size()];
        read(0, a, 0, a.length);
        return a;
    }

    static TokenSeq of(int[] tokens) {
        return new TokenSeq() {
            @Override
            public long size() {
                return tokens.length;
            }

            @Override
            public void read(long start, int[] dst, int off, int len) {
                System.arraycopy(tokens, Math.toIntExact(start), dst, off, len);
            }

            @Override
            public int get(long i) {
                return tokens[Math.toIntExact(i)];
            }
        };
    }

    default TokenSeq slice(long from, long len) {
        TokenSeq base = this;
        if (from < 0 || len < 0 || from + len > size()) throw new IndexOutOfBoundsException("slice " + from + "+" + len + " of " + size());
        return new TokenSeq() {
            @Override
            public long size() {
                return len;
            }

            @Override
            public void read(long start, int[] dst, int off, int n) {
                if (start < 0 || start + n > len) throw new IndexOutOfBoundsException("read " + start + "+" + n + " of " + len);
                base.read(from + start, dst, off, n);
            }
        };
    }

    /** The parts one after the other. */
    static TokenSeq concat(List<TokenSeq> parts) {
        if (parts.size() == 1) return parts.get(0);
        TokenSeq[] p = parts.toArray(new TokenSeq[0]);
        long[] starts = new long[p.length + 1]; // starts[i] = first index of part i; starts[n] = size
        for (int i = 0; i < p.length; i++) starts[i + 1] = starts[i] + p[i].size();
        return new TokenSeq() {
            @Override
            public long size() {
                return starts[p.length];
            }

            @Override
            public void read(long start, int[] dst, int off, int len) {
                if (start < 0 || start + len > starts[p.length]) throw new IndexOutOfBoundsException("read " + start + "+" + len + " of " + size());
                int part = Arrays.binarySearch(starts, start);
                part = part >= 0 ? part : -part - 2;
                while (len > 0) {
                    while (starts[part + 1] <= start) part++; // skip empty parts
                    long in = start - starts[part];
                    int n = (int) Math.min(len, p[part].size() - in);
                    p[part].read(in, dst, off, n);
                    start += n;
                    off += n;
                    len -= n;
                }
            }
        };
    }
}
