package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.config.RunConfig;
import dagmoe.train.Replicas;
import dagmoe.train.Trainer;
import dagmoe.train.TrainingDivergedException;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The seam between the commands and the cluster module ({@code experiments/cluster}, Apache Spark), which is
 * on the class path only when {@code --cluster} or {@code --data-parallel} is used (the launcher adds it).
 * A sweep is a list of {@link Job}s; each runs through {@link #run} wherever it lands (here, or a Spark task
 * on an executor), exactly as {@code compare} trains a run: resumed from its last checkpoint when its folder
 * holds one. Data-parallel training runs {@link #trainReplica} once per replica.
 */
public final class Distributed {
    private Distributed() {}

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The cluster module's engine (experiments/cluster). */
    static final String ENGINE_CLASS = "dagmoe.cluster.SparkEngine";

    /** One training run: its resolved config (JSON), where it came from, its run folder. */
    public record Job(String label, String config, String source, String name, String dir) implements Serializable {
        static Job of(String label, RunConfig cfg, Path dir) {
            return new Job(label, cfg.toPrettyJson(), cfg.source(), cfg.name(), dir.toString());
        }

        /** The same job with its run folder as an absolute path (what a task on another machine needs). */
        public Job absolute() {
            return new Job(label, config, source, name, Path.of(dir).toAbsolutePath().toString());
        }

        public RunConfig runConfig(int threads) {
            try {
                RunConfig c = RunConfig.fromJson(JSON.readTree(config), source, name, List.of());
                return threads > 0 ? c.with("backend.threads", threads) : c;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** What a finished job reports: its summary line, or (diverged != null) why it stopped. */
    public record Outcome(String label, String dir, String summaryLine, String diverged) implements Serializable {}

    /** Runs jobs on a cluster (the cluster module implements it). */
    public interface Engine extends AutoCloseable {
        /** Every job, one task each; failed tasks are retried by the engine and resume from their checkpoints. */
        List<Outcome> runAll(List<Job> jobs);

        /** {@code replicas} data-parallel replicas of one run (all at once or none); replica 0's summary line. */
        String trainDataParallel(Job job, int replicas, int until, String allReduce);

        @Override void close();
    }

    /** The --cluster / --conf options of compare, suite and train. */
    public static final class Options {
        @Option(names = "--cluster", paramLabel = "MASTER", description = "run on Apache Spark: local[N] (in this process), "
                + "spark://HOST:PORT (a standalone cluster) or any master URL Spark accepts; run folders must be on a path "
                + "every worker shares")
        String master;

        @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "a Spark setting for --cluster, e.g. "
                + "spark.executor.cores=4 (repeatable)")
        List<String> conf = new ArrayList<>();

        boolean active() { return master != null; }

        Engine engine() {
            return Distributed.engine(master, conf);
        }
    }

    /** The cluster module's engine for {@code master}; bad input when the module is not on the class path. */
    static Engine engine(String master, List<String> conf) {
        Class<?> c;
        try {
            c = Class.forName(ENGINE_CLASS);
        } catch (ClassNotFoundException e) {
            throw new CliSupport.BadInput("--cluster " + master + ": the cluster module (experiments/cluster) is not on "
                    + "the class path: run through ./dagmoe, which builds it and adds it with Spark's jars");
        }
        try {
            return (Engine) c.getConstructor(String.class, List.class).newInstance(master, conf);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs the jobs one after the other in this process, reporting each as it finishes (no cluster). */
    static void runHere(List<Job> jobs, Consumer<Outcome> done) {
        for (Job j : jobs) done.accept(run(j, 0, true));
    }

    /**
     * Trains one job into its folder (resuming from its last checkpoint), {@code threads} > 0 overriding
     * backend.threads. A diverged run is an outcome, not a failure (the other runs go on).
     */
    public static Outcome run(Job job, int threads, boolean terminal) {
        RunConfig cfg = job.runConfig(threads);
        Path dir = Path.of(job.dir());
        try {
            Trainer.Result r = TrainCommand.trainRun(cfg, dir, true, 0, progress(job.label(), terminal));
            return new Outcome(job.label(), job.dir(), TrainCommand.summaryLine(dir, r), null);
        } catch (TrainingDivergedException e) {
            return new Outcome(job.label(), job.dir(), null, e.getMessage());
        }
    }

    /**
     * One data-parallel replica of a job: trains (resuming from the run folder's last checkpoint if any) with the
     * gradients all-reduced through {@code replicas}; replica 0 writes the run folder, which the command holds locked.
     */
    public static Trainer.Result trainReplica(Job job, int threads, int until, Replicas replicas) {
        RunConfig cfg = job.runConfig(threads);
        Trainer.Progress progress = replicas.rank() == 0 ? progress(job.label(), false) : new Trainer.Progress() {};
        return TrainCommand.trainReplica(cfg, Path.of(job.dir()), until, progress, replicas);
    }

    /** The line train prints at the end of a run. */
    public static String summaryLine(Job job, Trainer.Result r) {
        return TrainCommand.summaryLine(Path.of(job.dir()), r);
    }

    /** The mean training step time of a finished run (summary.json's mean_step_ms), NaN before it finishes. */
    public static double stepMillis(Job job, Trainer.Result r) {
        Path summary = Path.of(job.dir()).resolve("summary.json");
        if (!r.finished() || !java.nio.file.Files.isRegularFile(summary)) return Double.NaN;
        try {
            return JSON.readTree(summary.toFile()).path("mean_step_ms").asDouble(Double.NaN);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Trainer.Progress progress(String label, boolean terminal) {
        return new ConsoleProgress(label, System.out, terminal && System.console() != null);
    }
}
