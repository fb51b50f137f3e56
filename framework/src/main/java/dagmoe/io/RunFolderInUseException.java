package dagmoe.io;

/** Another process (or command) holds a run folder's {@link RunLock}: bad input, exit code 2. */
public final class RunFolderInUseException extends RuntimeException {
    public RunFolderInUseException(String message) {
        super(message);
    }
}
