package dagmoe.config;

/** Bad configuration: the message names the file (or --set), the field and the rule. CLI exit code 2. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
