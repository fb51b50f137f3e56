package dagmoe.data.tasks;

import java.util.Map;
import java.util.TreeMap;

/** Exact-match accuracy over task batches, overall and by level (hop count k, steps, LIS length). */
public final class Accuracy {
    private long total, correct;
    private final TreeMap<Integer, long[]> byLevel = new TreeMap<>(); // level -> {total, correct}

    /** Adds one batch given the model's argmax over the vocabulary at every position (int[B*S]). */
    public void add(TaskBatch batch, int[] argmax) {
        boolean[] ok = batch.correct(argmax);
        for (int b = 0; b < ok.length; b++) {
            int level = batch.levels()[b];
            if (level < 0) continue;
            long[] c = byLevel.computeIfAbsent(level, k -> new long[2]);
            c[0]++;
            total++;
            if (ok[b]) {
                c[1]++;
                correct++;
            }
        }
    }

    public long total() {
        return total;
    }

    public long correct() {
        return correct;
    }

    /** Share of examples answered exactly; NaN when none were added. */
    public double accuracy() {
        return total == 0 ? Double.NaN : correct / (double) total;
    }

    /** level -> accuracy, levels in increasing order. */
    public Map<Integer, Double> byLevel() {
        TreeMap<Integer, Double> out = new TreeMap<>();
        byLevel.forEach((k, c) -> out.put(k, c[1] / (double) c[0]));
        return out;
    }

    /** level -> number of examples. */
    public Map<Integer, Long> countByLevel() {
        TreeMap<Integer, Long> out = new TreeMap<>();
        byLevel.forEach((k, c) -> out.put(k, c[0]));
        return out;
    }
}
