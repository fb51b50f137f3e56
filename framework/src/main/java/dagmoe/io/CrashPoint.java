package dagmoe.io;

/**
 * Test hook for crash tests: when the system property {@value #PROPERTY} is {@code NAME@STEP} and the
 * program reaches point NAME at step STEP, it prints {@link #MARKER} {@code NAME@STEP} on stderr and sleeps,
 * so the test can SIGKILL it exactly there. Points: {@code checkpoint-model} (model file written into the
 * temporary folder), {@code checkpoint-rename} (all files written, before the folder is renamed),
 * {@code prune} (an old checkpoint renamed away, before it is deleted), {@code metrics} (half a metrics line
 * written and flushed).
 */
public final class CrashPoint {
    public static final String PROPERTY = "dagmoe.test.crashAt";
    public static final String MARKER = "dagmoe-test: paused at ";

    private CrashPoint() {}

    public static void reach(String name, long step) {
        String at = System.getProperty(PROPERTY);
        if (at == null || !at.equals(name + "@" + step)) return;
        System.err.println(MARKER + at);
        System.err.flush();
        try {
            Thread.sleep(120_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
