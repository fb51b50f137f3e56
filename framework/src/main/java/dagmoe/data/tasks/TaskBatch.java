package dagmoe.data.tasks;

import dagmoe.data.Batch;

/**
 * A batch of task examples. batch() is what the model trains on (targets per data.loss_on);
 * answerTargets[b*S + t] is the answer token the model must predict at position t of row b (the
 * position just before it), -1 elsewhere; levels[b] is the example's level, -1 for a padding row.
 */
public record TaskBatch(Batch batch, int[] answerTargets, int[] levels) {
    /** Per row: true when the argmax (int[B*S]) equals every answer token of the row. Padding rows are false. */
    public boolean[] correct(int[] argmax) {
        int s = batch.seqLen();
        boolean[] ok = new boolean[levels.length];
        for (int b = 0; b < levels.length; b++) {
            if (levels[b] < 0) continue;
            boolean all = true;
            for (int t = 0; t < s; t++) {
                int want = answerTargets[b * s + t];
                if (want >= 0 && argmax[b * s + t] != want) all = false;
            }
            ok[b] = all;
        }
        return ok;
    }

    /** Rows that hold an example. */
    public int examples() {
        int n = 0;
        for (int l : levels) if (l >= 0) n++;
        return n;
    }
}
