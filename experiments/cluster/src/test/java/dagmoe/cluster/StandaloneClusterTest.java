package dagmoe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.train.Checkpoints;
import dagmoe.train.MetricsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static dagmoe.cluster.ClusterTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Spark standalone cluster on the loopback interface, started from the test class path (no Spark download):
 * one master and one worker process, whose executors are processes of their own. A two-variant sweep and a
 * two-replica data-parallel run go through it while an executor is killed mid-run; both end with exactly the bits of
 * the same work done without the kill.
 */
class StandaloneClusterTest {
    private static final String QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

    @TempDir Path tmp;

    @Test
    void sweepAndDataParallelRunLoseNothingWhenAnExecutorIsKilled() throws Exception {
        Path home = tmp.resolve("spark-home");
        Files.createDirectories(home.resolve("jars")); // the worker's launcher wants SPARK_HOME/jars (empty: the class path is ours)
        int port = freePort();
        String url = "spark://127.0.0.1:" + port;
        List<Process> daemons = new ArrayList<>();
        try {
            daemons.add(daemon(home, tmp.resolve("master.log"), "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort())));
            await(() -> accepts(port), 90, "the master to listen on " + port);
            Process worker = daemon(home, tmp.resolve("worker.log"), "org.apache.spark.deploy.worker.Worker",
                    "--host", "127.0.0.1", "--cores", "2", "--memory", "2g", "--webui-port", String.valueOf(freePort()),
                    "--work-dir", tmp.resolve("work").toString(), url);
            daemons.add(worker);
            await(() -> logSays(tmp.resolve("worker.log"), "Successfully registered with master"), 90, "the worker to register");

            String[] spark = {"--cluster", url, "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                    "--conf", "spark.executor.cores=1", "--conf", "spark.executor.memory=512m",
                    // quicker executor starts for a tiny model: the client compiler only
                    "--conf", "spark.executor.extraJavaOptions=--add-modules=jdk.incubator.vector -Xss8m " + QUICK_JVM,
                    "--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.interval=1s",
                    "--conf", "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures=300"};

            // ---- sweep: one executor (one core), killed while the first run is past its second checkpoint
            Path cfg = config(tmp, 200, 2, "");
            Path here = tmp.resolve("here"), there = tmp.resolve("there");
            assertEquals(0, run("compare", "--config", cfg.toString(), "--out", here.toString(), "--threads", "1"));
            Set<Long> executors = new HashSet<>();
            CompletableFuture<Integer> sweep = CompletableFuture.supplyAsync(() -> run(concat(new String[] {"compare",
                    "--config", cfg.toString(), "--out", there.toString(), "--conf", "spark.cores.max=1"}, spark)));
            killExecutorWhen(worker, () -> checkpointAtLeast(there.resolve("sum/s1"), 10), sweep, executors);
            assertEquals(0, sweep.get(300, TimeUnit.SECONDS));
            assertTrue(executors.size() >= 2, "the killed executor was replaced: " + executors);
            JsonNode a = json(here.resolve("comparison.json")), b = json(there.resolve("comparison.json"));
            for (int v = 0; v < 2; v++) assertEquals(a.get("variants").get(v).get("val_loss"), b.get("variants").get(v).get("val_loss"));
            for (String r : List.of("sum/s1", "dag/s1")) {
                assertSameBits(weights(here.resolve(r)), weights(there.resolve(r)));
                assertEveryStepOnce(there.resolve(r), 200);
            }

            // ---- data-parallel: two executors of one core, one replica each; one is killed mid-run
            Path dcfg = config(tmp.resolve("dp"), 200, 4, "");
            Path ref = tmp.resolve("dp-local"), dp = tmp.resolve("dp-standalone");
            assertEquals(0, run("train", "--config", dcfg.toString(), "--out", ref.toString(), "--data-parallel", "2", "--threads", "1"));
            executors.clear();
            CompletableFuture<Integer> train = CompletableFuture.supplyAsync(() -> run(concat(new String[] {"train",
                    "--config", dcfg.toString(), "--out", dp.toString(), "--data-parallel", "2", "--threads", "1"}, spark)));
            killExecutorWhen(worker, () -> checkpointAtLeast(dp, 10), train, executors);
            assertEquals(0, train.get(300, TimeUnit.SECONDS));
            assertTrue(executors.size() >= 3, "the killed executor was replaced: " + executors);
            assertSameBits(weights(ref), weights(dp));
            assertEquals(json(ref.resolve("summary.json")).get("val_loss"), json(dp.resolve("summary.json")).get("val_loss"));
            assertEveryStepOnce(dp, 200);
        } finally {
            for (Process p : daemons) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /** Waits until {@code when} holds, then kills one executor of the worker (forcibly, as a lost machine). */
    private static void killExecutorWhen(Process worker, BooleanSupplier when, CompletableFuture<Integer> job, Set<Long> seen)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
        boolean killed = false;
        while (!job.isDone() && System.nanoTime() < deadline) {
            List<ProcessHandle> ex = executors(worker);
            ex.forEach(p -> seen.add(p.pid()));
            if (!killed && !ex.isEmpty() && when.getAsBoolean()) {
                System.out.println("killing executor process " + ex.get(0).pid());
                ex.get(0).destroyForcibly();
                killed = true;
            }
            Thread.sleep(10);
        }
        assertTrue(killed, "an executor was killed mid-run (the run ended before its checkpoint?)");
    }

    private static List<ProcessHandle> executors(Process worker) {
        return worker.descendants().filter(p -> commandLine(p).contains("CoarseGrainedExecutorBackend")).toList();
    }

    private static String commandLine(ProcessHandle p) {
        try { // Linux: the whole command line (ProcessHandle.Info may leave out a long one)
            return Files.readString(Path.of("/proc", String.valueOf(p.pid()), "cmdline")).replace('\0', ' ');
        } catch (IOException | RuntimeException e) {
            return p.info().commandLine().orElse("");
        }
    }

    private static boolean checkpointAtLeast(Path run, long step) {
        if (Files.exists(run.resolve("summary.json"))) return false;
        Optional<Path> latest = new Checkpoints(run).latest();
        return latest.isPresent() && latest.get().getFileName().toString().compareTo(Checkpoints.folderName(step)) >= 0;
    }

    /** metrics.jsonl has each train step exactly once (the resumed segment replaced what the lost one had logged). */
    private static void assertEveryStepOnce(Path run, int steps) {
        List<Integer> got = new ArrayList<>();
        for (JsonNode l : MetricsWriter.read(run)) if (l.path("kind").asText().equals("train")) got.add(l.get("step").asInt());
        List<Integer> want = new ArrayList<>();
        for (int s = 1; s <= steps; s++) want.add(s);
        assertEquals(want, got, run.toString());
    }

    private static Process daemon(Path sparkHome, Path log, String main, String... args) throws IOException {
        // The daemons log at INFO (the test waits for the worker's registration line); the project's own log4j2
        // configuration on the class path keeps Spark at warnings.
        Path log4j = sparkHome.resolve("log4j2-daemons.properties");
        Files.writeString(log4j, """
                rootLogger.level = info
                rootLogger.appenderRef.stdout.ref = console
                appender.console.type = Console
                appender.console.name = console
                appender.console.layout.type = PatternLayout
                appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
                """);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "@" + System.getProperty("spark.jvm.options"), "-Xmx384m", QUICK_JVM.split(" ")[0], QUICK_JVM.split(" ")[1],
                "-Dlog4j2.configurationFile=" + log4j,
                "-cp", System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.directory(sparkHome.toFile());
        return pb.start();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean accepts(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean logSays(Path log, String text) {
        try {
            return Files.exists(log) && Files.readString(log).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    private static void await(BooleanSupplier cond, int seconds, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) fail("timed out waiting for " + what);
            Thread.sleep(100);
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = new String[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
