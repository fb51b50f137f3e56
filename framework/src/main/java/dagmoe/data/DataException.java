package dagmoe.data;

/**
 * Bad input data: a missing or unreadable path, an empty corpus, a malformed JSONL line, a bad token
 * shard header, a tokenizer file that does not parse. The message names the file (and the line or
 * field where there is one), so the command line can print it as is and exit with code 2.
 */
public class DataException extends IllegalArgumentException {
    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
