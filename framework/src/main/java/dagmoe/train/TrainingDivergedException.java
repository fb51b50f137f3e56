package dagmoe.train;

/** A loss or gradient became NaN or infinite; the message names the step and the tensor. */
public final class TrainingDivergedException extends RuntimeException {
    private final int step;
    private final String tensor;

    public TrainingDivergedException(int step, String tensor, String message) {
        super(message);
        this.step = step;
        this.tensor = tensor;
    }

    public int step() { return step; }

    public String tensor() { return tensor; }
}
