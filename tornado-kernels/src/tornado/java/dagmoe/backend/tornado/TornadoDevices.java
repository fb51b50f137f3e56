package dagmoe.backend.tornado;

import java.util.ArrayList;
import java.util.List;

import uk.ac.manchester.tornado.api.TornadoRuntime;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.runtime.TornadoRuntimeProvider;

/** The TornadoVM devices this JVM sees, as {@code dagmoe devices} prints them (called reflectively). */
public final class TornadoDevices {
    private TornadoDevices() {}

    /**
     * One line per device: "B:D  name  (backend, type, global memory, max work-group size)", the default
     * device marked. Throws IllegalArgumentException (how to enable) when TornadoVM cannot start.
     */
    public static List<String> list() {
        TornadoBackend.requireTornado();
        TornadoRuntime rt = TornadoRuntimeProvider.getTornadoRuntime();
        TornadoDevice def = rt.getDefaultDevice();
        List<String> lines = new ArrayList<>();
        for (int b = 0; b < rt.getNumBackends(); b++) {
            var backend = rt.getBackend(b);
            for (int d = 0; d < backend.getNumDevices(); d++) {
                TornadoDevice dev = backend.getDevice(d);
                long[] wg = dev.getDeviceMaxWorkgroupDimensions();
                lines.add(String.format("%d:%d  %s  (%s, %s, %.1f GiB global memory, max work-group %s)%s", b, d,
                        dev.getPhysicalDevice().getDeviceName(), backend.getName(), dev.getDeviceType(),
                        dev.getMaxGlobalMemory() / (1024.0 * 1024 * 1024), java.util.Arrays.toString(wg),
                        dev.getDeviceName().equals(def.getDeviceName()) ? "  [default]" : ""));
            }
        }
        return lines;
    }
}
