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
     * One line per device: "B:D  name  (backend, TornadoVM version, type, global memory, max work-group size)",
     * the default device marked. Throws IllegalArgumentException (how to enable) when TornadoVM cannot start.
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
                lines.add(String.format("%d:%d  %s  (%s, TornadoVM %s, %s, %.1f GiB global memory, max work-group %s)%s", b, d,
                        dev.getPhysicalDevice().getDeviceName(), backend.getName(), version(), dev.getDeviceType(),
                        dev.getMaxGlobalMemory() / (1024.0 * 1024 * 1024), java.util.Arrays.toString(wg),
                        dev.getDeviceName().equals(def.getDeviceName()) ? "  [default]" : ""));
            }
        }
        return lines;
    }

    /**
     * The version of the TornadoVM SDK on this JVM, as its jars name it ("5.2.0-jdk25", "5.2.1-jdk25-dev"): the
     * tornado-api jar's Implementation-Version, else its Maven pom.properties, else the version in the jar's file
     * name; "unknown" when none says.
     */
    public static String version() {
        Class<?> api = uk.ac.manchester.tornado.api.TaskGraph.class;
        String v = api.getPackage() == null ? null : api.getPackage().getImplementationVersion();
        if (v != null && !v.isBlank()) {
            return v;
        }
        try (java.io.InputStream in = api.getResourceAsStream("/META-INF/maven/io.github.beehive-lab/tornado-api/pom.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                v = p.getProperty("version");
                if (v != null && !v.isBlank()) {
                    return v;
                }
            }
        } catch (java.io.IOException e) {
            // fall through to the file name
        }
        try {
            String file = java.nio.file.Path.of(api.getProtectionDomain().getCodeSource().getLocation().toURI()).getFileName().toString();
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("^tornado-api-(.+)\\.jar$").matcher(file);
            if (m.matches()) {
                return m.group(1);
            }
        } catch (RuntimeException | java.net.URISyntaxException e) {
            // no code source
        }
        return "unknown";
    }
}
