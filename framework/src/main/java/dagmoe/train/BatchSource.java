package dagmoe.train;

import dagmoe.data.Batcher;

/**
 * Where the trainer's batches come from. The whole position is one long (batches' windows drawn so
 * far), saved in every checkpoint, so that a resumed run sees exactly the batches of an uninterrupted one.
 */
public interface BatchSource {
    /** Fills inputs[B·S] and targets[B·S] (a target &lt; 0 is not counted by the loss). */
    void next(int[] inputs, int[] targets);

    /** The position to save. */
    long cursor();

    /** Restores a saved position. */
    void seek(long cursor);

    /** A corpus batcher as a batch source. */
    static BatchSource of(Batcher b) {
        return new BatchSource() {
            @Override public void next(int[] inputs, int[] targets) { b.next(inputs, targets); }
            @Override public long cursor() { return b.cursor(); }
            @Override public void seek(long cursor) { b.seek(cursor); }
        };
    }
}
