package dagmoe.model;

import java.util.Arrays;

/**
 * One named weight tensor with its gradient: row-major {@code data} and {@code grad} of the same length
 * (the product of {@code shape}). {@code decay}: whether AdamW applies weight decay to it (false for norm
 * scales and embeddings; see {@link dagmoe.optim.AdamW}).
 */
public record Parameter(String name, int[] shape, float[] data, float[] grad, boolean decay) {

    public Parameter {
        long n = 1;
        for (int s : shape) n *= s;
        if (n != data.length || n != grad.length)
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " does not match data/grad length");
    }

    /** Number of elements. */
    public int size() { return data.length; }

    @Override public String toString() { return name + Arrays.toString(shape); }
}
