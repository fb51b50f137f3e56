package dagmoe.backend;

import java.lang.reflect.InvocationTargetException;

/** Creates a {@link Backend} by name: {@code java}, {@code cpu} or {@code tornado}. */
public final class Backends {
    private Backends() {}

    /** The TornadoVM backend, built only with the Maven profile {@code tornado}; loaded reflectively. */
    static final String TORNADO_CLASS = "dagmoe.backend.tornado.TornadoBackend";

    /**
     * {@code java} (sequential reference; threads ignored), {@code cpu} ({@code threads} workers, >= 1) or
     * {@code tornado} (when its classes are on the class path). Anything else throws IllegalArgumentException.
     */
    public static Backend create(String name, int threads) {
        return create(name, threads, "");
    }

    /**
     * As above; {@code device} is the tornado backend's device "B:D" as {@code dagmoe devices} lists them ("" or null:
     * TornadoVM's default device), passed to its constructor; the other backends ignore it.
     */
    public static Backend create(String name, int threads, String device) {
        if (name == null) {
            throw new IllegalArgumentException("backend.name is null: use java, cpu or tornado");
        }
        switch (name) {
            case "java":
                return new JavaBackend();
            case "cpu":
                if (threads < 1) {
                    throw new IllegalArgumentException("backend.threads = " + threads + ": must be >= 1");
                }
                return new CpuBackend(threads);
            case "tornado":
                return instantiate(TORNADO_CLASS, threads, device == null ? "" : device.trim(),
                        "backend.name = tornado: the TornadoVM backend is not in this build. Install a TornadoVM SDK, set "
                                + "TORNADOVM_HOME to it, rebuild (the Maven profile 'tornado' turns on when TORNADOVM_HOME is set) "
                                + "and run with TornadoVM's JVM options (@$TORNADOVM_HOME/tornado-argfile "
                                + "-Dtornado.load.annotation.parallel=dagmoe.kernels.Parallel)");
            default:
                throw new IllegalArgumentException("backend.name = " + name + ": must be one of java, cpu, tornado");
        }
    }

    /** Loads {@code className} and calls its (int threads, String device) constructor. */
    private static Backend instantiate(String className, int threads, String device, String missing) {
        Class<?> cls;
        try {
            cls = Class.forName(className);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException(missing, e);
        }
        try {
            return (Backend) cls.getConstructor(int.class, String.class).newInstance(threads, device);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException) {
                throw (RuntimeException) cause;
            }
            throw new IllegalStateException("could not start backend " + className + ": " + cause, cause);
        } catch (ReflectiveOperationException | ClassCastException e) {
            throw new IllegalStateException("could not start backend " + className + ": " + e, e);
        }
    }
}
