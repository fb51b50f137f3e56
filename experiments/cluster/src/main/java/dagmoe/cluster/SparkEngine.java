package dagmoe.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.cli.Distributed;
import dagmoe.config.ConfigException;
import dagmoe.io.AtomicWrite;
import dagmoe.train.Trainer;
import dagmoe.train.TrainingDivergedException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * The commands' cluster engine on Apache Spark. A sweep is one Spark job with one task per run; a task trains its
 * run with as many cpu threads as it has task cpus (spark.task.cpus, by default the executor's cores), and a failed
 * task is retried by Spark (spark.task.maxFailures, also in local mode) and resumes from the run's last checkpoint.
 * Data-parallel training is one barrier stage of N tasks (all start or none; one failing restarts them all, from
 * the last checkpoint); the replicas sum their gradients every step over a ring of their own connections, whose
 * addresses they exchange through the barrier's allGather, or through Spark's messaging (--allreduce spark).
 */
public final class SparkEngine implements Distributed.Engine {
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,(\\d+))?])?");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final String master;
    private final Integer localCores; // null for a cluster master
    private final Map<String, String> conf = new LinkedHashMap<>();
    private JavaSparkContext sc;

    public SparkEngine(String master, List<String> settings) {
        for (String s : settings) {
            int eq = s.indexOf('=');
            if (eq <= 0) throw new ConfigException("--conf " + s + ": expected KEY=VALUE (a Spark setting)");
            conf.put(s.substring(0, eq).trim(), s.substring(eq + 1).trim());
        }
        Matcher m = LOCAL.matcher(master);
        if (m.matches()) {
            localCores = m.group(1) == null ? 1
                    : m.group(1).equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(m.group(1));
            if (localCores < 1) throw new ConfigException("--cluster " + master + ": needs at least one core");
            // local[N] alone never retries a task; local[N,F] does, as a cluster would.
            String failures = m.group(2) != null ? m.group(2) : conf.getOrDefault("spark.task.maxFailures", "4");
            this.master = "local[" + localCores + "," + failures + "]";
        } else {
            localCores = null;
            this.master = master;
        }
    }

    /** The cores of one executor: N of local[N], else spark.executor.cores (default 2). */
    private int executorCores() {
        if (localCores != null) return localCores;
        return positive("spark.executor.cores", conf.getOrDefault("spark.executor.cores", "2"));
    }

    private int positive(String key, String value) {
        try {
            int v = Integer.parseInt(value);
            if (v >= 1) return v;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new ConfigException("--conf " + key + "=" + value + ": must be a whole number >= 1");
    }

    private JavaSparkContext start(int taskCpus) {
        SparkConf c = new SparkConf().setAppName("dagmoe").setMaster(master);
        c.set("spark.ui.enabled", "false");
        c.set("spark.task.cpus", String.valueOf(taskCpus));
        if (localCores == null) c.set("spark.executor.cores", String.valueOf(executorCores()));
        else c.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1");
        // Executors load the project from the driver's class path (the same checkout path on every machine) and need
        // the cpu backend's JVM options; Spark adds its own module options to these.
        c.set("spark.executor.extraClassPath", System.getProperty("java.class.path"));
        c.set("spark.executor.extraJavaOptions", "--add-modules=jdk.incubator.vector -Xss8m");
        conf.forEach(c::set);
        sc = new JavaSparkContext(c);
        sc.setLogLevel("WARN");
        return sc;
    }

    // ---------------------------------------------------------------- sweeps

    @Override
    public List<Distributed.Outcome> runAll(List<Distributed.Job> jobs) {
        if (jobs.isEmpty()) return List.of();
        int cores = executorCores();
        int taskCpus = conf.containsKey("spark.task.cpus") ? positive("spark.task.cpus", conf.get("spark.task.cpus")) : cores;
        JavaSparkContext ctx = sc != null ? sc : start(taskCpus);
        List<Distributed.Job> abs = jobs.stream().map(Distributed.Job::absolute).toList();
        System.out.printf("cluster %s: %d runs, one task each, %d cpu threads per task%n", master, abs.size(), taskCpus);
        try {
            return ctx.parallelize(abs, abs.size()).map(j -> Distributed.run(j, TaskContext.get().cpus(), false)).collect();
        } catch (RuntimeException e) {
            throw failed(e);
        }
    }

    private static RuntimeException failed(RuntimeException e) {
        Throwable t = e;
        while (!(t instanceof SparkException) && t.getCause() != null) t = t.getCause();
        if (t instanceof SparkException) {
            String msg = String.valueOf(t.getMessage()).lines().findFirst().orElse("");
            return new IllegalStateException("the cluster job failed after Spark's retries: " + msg, e);
        }
        return e;
    }

    // ---------------------------------------------------------------- data-parallel training

    @Override
    public String trainDataParallel(Distributed.Job job, int replicas, int until, String allReduce) {
        int taskCpus;
        if (localCores != null) {
            if (localCores < replicas) {
                throw new ConfigException("--cluster " + master + ": " + localCores + " cores are fewer than the "
                        + replicas + " data-parallel replicas (one task each, started together)");
            }
            taskCpus = conf.containsKey("spark.task.cpus") ? positive("spark.task.cpus", conf.get("spark.task.cpus"))
                    : localCores / replicas;
        } else {
            taskCpus = conf.containsKey("spark.task.cpus") ? positive("spark.task.cpus", conf.get("spark.task.cpus"))
                    : executorCores();
        }
        JavaSparkContext ctx = sc != null ? sc : start(taskCpus);
        System.out.printf("cluster %s: %d data-parallel replicas in one barrier stage, %d cpu threads each, all-reduce %s%n",
                master, replicas, taskCpus, allReduce);
        List<String> reports;
        try {
            var rdd = ctx.parallelize(IntStream.range(0, replicas).boxed().toList(), replicas).rdd();
            var out = rdd.barrier().mapPartitions(new Replica(job.absolute(), until, allReduce), false,
                    ClassTag$.MODULE$.apply(String.class));
            // A shuffle after the barrier stage makes it a map stage, which Spark retries whole when a replica fails
            // (a failed barrier result stage is aborted instead).
            reports = new ArrayList<>(out.toJavaRDD().repartition(1).collect());
        } catch (RuntimeException e) {
            throw failed(e);
        }
        reports.sort(null); // "rank\t..." (ranks < 10^6, zero-padded)
        String[] r0 = reports.get(0).split("\t", 7);
        if (r0[1].equals("diverged")) throw new TrainingDivergedException(Integer.parseInt(r0[2]), r0[3], r0[4]);
        long calls = Long.parseLong(r0[1]), nanos = Long.parseLong(r0[2]), wait = Long.parseLong(r0[3]);
        long sent = Long.parseLong(r0[4]);
        double stepMs = Double.parseDouble(r0[5]);
        double commMs = calls > 0 ? nanos / 1e6 / calls : 0, waitMs = calls > 0 ? wait / 1e6 / calls : 0;
        double bytes = calls > 0 ? (double) sent / calls : 0;
        String line = r0[6] + String.format("%nall-reduce (%s, %d replicas): %.2f ms per step (%.1f%% of the %.1f ms step; "
                        + "%.2f ms of it waiting for the slowest replica), %.3f MB sent per replica per step", allReduce,
                replicas, commMs, 100 * commMs / stepMs, stepMs, waitMs, bytes / 1e6);
        writeReport(Path.of(job.absolute().dir()), replicas, taskCpus, allReduce, calls, commMs, waitMs, bytes, stepMs);
        return line;
    }

    /** data_parallel.json in the run folder: what the last segment measured. */
    private void writeReport(Path dir, int replicas, int threads, String allReduce, long steps, double commMs,
                             double waitMs, double bytes, double stepMs) {
        ObjectNode o = JSON.createObjectNode();
        o.put("master", master).put("replicas", replicas).put("threads_per_replica", threads).put("allreduce", allReduce)
                .put("steps", steps).put("step_ms", stepMs).put("allreduce_ms_per_step", commMs)
                .put("allreduce_wait_ms_per_step", waitMs)
                .put("allreduce_share_of_step", commMs / stepMs).put("bytes_sent_per_replica_per_step", bytes);
        try {
            AtomicWrite.writeBytes(dir.resolve("data_parallel.json"), JSON.writeValueAsBytes(o));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve("data_parallel.json") + ": " + e.getMessage(), e);
        }
    }

    /** One barrier task: connects the replicas, trains, reports "rank\tcalls\tnanos\twait\tsent\tstep_ms\tsummary". */
    static final class Replica extends AbstractFunction1<scala.collection.Iterator<Integer>, scala.collection.Iterator<String>>
            implements Serializable {
        private final Distributed.Job job;
        private final int until;
        private final String allReduce;

        Replica(Distributed.Job job, int until, String allReduce) {
            this.job = job;
            this.until = until;
            this.allReduce = allReduce;
        }

        @Override
        public scala.collection.Iterator<String> apply(scala.collection.Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            int rank = ctx.partitionId();
            String report;
            try (Connected c = connect(ctx)) {
                Trainer.Result r = Distributed.trainReplica(job, ctx.cpus(), until, c.replicas);
                double stepMs = Distributed.stepMillis(job, r);
                report = String.join("\t", String.format("%06d", rank), String.valueOf(c.replicas.calls),
                        String.valueOf(c.replicas.nanos), String.valueOf(c.replicas.waitNanos),
                        String.valueOf(c.replicas.sent), String.valueOf(stepMs),
                        Distributed.summaryLine(job, r));
            } catch (TrainingDivergedException e) {
                // Every replica diverges alike (same reduced gradients): report it rather than have Spark retry.
                report = String.join("\t", String.format("%06d", rank), "diverged", String.valueOf(e.step()), e.tensor(),
                        e.getMessage().replace('\t', ' ').replace('\n', ' '));
            } catch (IOException e) {
                throw new UncheckedIOException("replica " + rank + ": cannot connect the all-reduce ring: " + e.getMessage(), e);
            }
            return CollectionConverters.asScala(List.of(report).iterator());
        }

        private Connected connect(BarrierTaskContext ctx) throws IOException {
            if (!allReduce.equals("ring")) return new Connected(new SparkAllReduce(ctx), null);
            int rank = ctx.partitionId();
            String address = ctx.getTaskInfos()[rank].address(); // the executor's "host:port"
            String host = address.substring(0, address.lastIndexOf(':'));
            ServerSocket server = new ServerSocket(0, 8, InetAddress.getByName(host));
            String[] addresses = ctx.allGather(host + ":" + server.getLocalPort());
            return new Connected(new RingAllReduce(rank, addresses, server), server);
        }
    }

    /** A replica's all-reduce and the listening socket to close with it. */
    private record Connected(MeasuredReplicas replicas, ServerSocket server) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            if (replicas instanceof RingAllReduce ring) ring.close();
            if (server != null) server.close();
        }
    }

    @Override
    public void close() {
        if (sc != null) sc.stop();
        sc = null;
    }
}
