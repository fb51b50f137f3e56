package dagmoe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./dagmoe checks a TornadoVM SDK (TORNADOVM_HOME) before it starts the JVM: a missing or stale argfile, an SDK built
 * for another JDK than the one that would run, and a --device B:D whose backend B the SDK lacks each give one message
 * naming the file or the mismatch, and exit 2. The SDK here is a stand-in folder with the files the launcher reads.
 */
class LauncherIT {
    static Path repo;
    static final int RUNNING_JDK = Runtime.version().feature();

    @BeforeAll
    static void build() throws Exception {
        repo = BundleIT.packagedRepository();
    }

    /**
     * An SDK folder: an argfile whose module path is an empty folder (or modulePath), an (empty) tornado-api-5.2.0-jdkNN.jar
     * the launcher reads the JDK from, and etc/tornado.backend with one backend.
     */
    static Path sdk(Path dir, int jdk, String modulePath) throws Exception {
        Path jars = Files.createDirectories(dir.resolve("share/java/tornado"));
        Files.writeString(jars.resolve("tornado-api-5.2.0-jdk" + jdk + ".jar"), "");
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/tornado.backend"), "tornado.backends=opencl-backend\n");
        Path modules = Files.createDirectories(dir.resolve("modules"));
        Files.writeString(dir.resolve("tornado-argfile"), "# JVM options\n--module-path .:" + (modulePath != null ? modulePath : modules) + "\n");
        return dir;
    }

    static BundleIT.Result launch(Path sdk, String... args) throws Exception {
        Map<String, String> env = BundleIT.repoEnv(System.getProperty("dagmoe.build.dir", "target"));
        env.put("TORNADOVM_HOME", sdk.toString());
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("dagmoe").toString()));
        cmd.addAll(List.of(args));
        return BundleIT.run(repo, env, cmd);
    }

    static void refused(BundleIT.Result r, String... parts) {
        assertEquals(2, r.code(), r.out());
        String msg = r.out().strip();
        assertEquals(1, msg.lines().count(), "one message: " + msg);
        assertTrue(msg.startsWith("dagmoe: TornadoVM SDK (TORNADOVM_HOME="), msg);
        for (String p : parts) assertTrue(msg.contains(p), "'" + p + "' in: " + msg);
    }

    @Test
    void missingArgfile(@TempDir Path dir) throws Exception {
        Path s = sdk(dir, RUNNING_JDK, null);
        Files.delete(s.resolve("tornado-argfile"));
        refused(launch(s, "--version"), s.resolve("tornado-argfile") + " is missing");
    }

    @Test
    void staleArgfile(@TempDir Path dir) throws Exception {
        Path s = sdk(dir, RUNNING_JDK, "/nonexistent/sdk/share/java/tornado");
        refused(launch(s, "--version"), "names /nonexistent/sdk/share/java/tornado, which does not exist");
    }

    @Test
    void sdkForAnotherJdk(@TempDir Path dir) throws Exception {
        int other = RUNNING_JDK == 25 ? 21 : 25;
        Path s = sdk(dir, other, null);
        refused(launch(s, "--version"), "built for JDK " + other, "tornado-api-5.2.0-jdk" + other + ".jar",
                "JDK " + RUNNING_JDK, "set JAVA_HOME to a JDK " + other);
    }

    @Test
    void deviceOfABackendTheSdkLacks(@TempDir Path dir) throws Exception {
        Path s = sdk(dir, RUNNING_JDK, null);
        refused(launch(s, "train", "--device", "1:0", "--config", "configs/quickstart.json"),
                "--device 1:0 asks for TornadoVM backend 1, but this SDK has only 1: opencl-backend");
        refused(launch(s, "selftest", "--backend", "tornado", "--device=2:0"), "--device 2:0");
    }

    @Test
    void aConsistentSdkPassesTheChecks(@TempDir Path dir) throws Exception {
        BundleIT.Result r = launch(sdk(dir, RUNNING_JDK, null), "--version");
        assertEquals(0, r.code(), r.out());
        assertTrue(r.out().contains("dagmoe " + BundleCommand.version()), r.out());
    }
}
