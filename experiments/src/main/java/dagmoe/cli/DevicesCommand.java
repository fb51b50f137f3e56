package dagmoe.cli;

import java.lang.reflect.InvocationTargetException;
import java.util.List;
import java.util.concurrent.Callable;

import picocli.CommandLine.Command;

/**
 * {@code dagmoe devices}: lists the TornadoVM devices as "B:D name (...)"; pass B:D to {@code --device} (or
 * {@code backend.device}) with {@code --backend tornado}. Exit 2 with one message when this build or this JVM
 * has no TornadoVM (the listing class exists only in builds with the Maven profile {@code tornado}).
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the TornadoVM devices (B:D) usable with --backend tornado --device B:D.")
public final class DevicesCommand implements Callable<Integer> {

    static final String LISTING_CLASS = "dagmoe.backend.tornado.TornadoDevices";
    static final String HOW_TO_ENABLE = "install a TornadoVM SDK (see TornadoVM's installation documentation), set "
            + "TORNADOVM_HOME to it, rebuild (the Maven profile 'tornado' turns on when TORNADOVM_HOME is set; use the JDK "
            + "the SDK needs) and run through ./dagmoe, which then adds TornadoVM's JVM options (README, section TornadoVM)";

    @Override
    public Integer call() {
        Class<?> listing;
        try {
            listing = Class.forName(LISTING_CLASS);
        } catch (ClassNotFoundException | LinkageError e) {
            System.err.println("dagmoe: devices: this build has no TornadoVM backend; " + HOW_TO_ENABLE);
            return 2;
        }
        try {
            @SuppressWarnings("unchecked")
            List<String> lines = (List<String>) listing.getMethod("list").invoke(null);
            if (lines.isEmpty()) {
                System.err.println("dagmoe: devices: TornadoVM found no device (check the OpenCL/CUDA/Level Zero drivers)");
                return 2;
            }
            lines.forEach(System.out::println);
            return 0;
        } catch (InvocationTargetException e) {
            Throwable c = e.getCause();
            System.err.println("dagmoe: devices: " + (c instanceof IllegalArgumentException ? c.getMessage()
                    : "TornadoVM did not start (" + c + "); " + HOW_TO_ENABLE));
            return 2;
        } catch (ReflectiveOperationException | LinkageError e) {
            System.err.println("dagmoe: devices: TornadoVM did not start (" + e + "); " + HOW_TO_ENABLE);
            return 2;
        }
    }
}
