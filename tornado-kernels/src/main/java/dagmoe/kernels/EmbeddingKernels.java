package dagmoe.kernels;

/** Token embedding lookup: table [V × d], tokens [T], out [T × d]. */
public final class EmbeddingKernels {
    private EmbeddingKernels() {}

    /** out[t×d] = table[tokens[t]×d]. */
    public static void embeddingForward(float[] table, int[] tokens, float[] out, int T, int d) {
        for (@Parallel int t = 0; t < T; t++) {
            for (@Parallel int c = 0; c < d; c++) {
                out[t * d + c] = table[tokens[t] * d + c];
            }
        }
    }

    /**
     * dTable[tokens[t]] += dOut[t]. One thread per column c walks the tokens in order: a token that occurs
     * twice is added twice by the same thread, so no two threads write the same element.
     */
    public static void embeddingBackward(float[] dOut, int[] tokens, float[] dTable, int T, int d) {
        for (@Parallel int c = 0; c < d; c++) {
            for (int t = 0; t < T; t++) {
                dTable[tokens[t] * d + c] += dOut[t * d + c];
            }
        }
    }
}
