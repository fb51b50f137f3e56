package dagmoe.train;

/**
 * A checkpoint that cannot be read or does not fit the model: truncated file, bad header, wrong dtype,
 * shape mismatch, missing tensor. The message names the file and, where there is one, the tensor.
 * The command line turns it into exit code 2 without a stack trace.
 */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
