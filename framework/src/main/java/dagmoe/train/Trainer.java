package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.backend.Backend;
import dagmoe.data.Batch;
import dagmoe.io.AtomicWrite;
import dagmoe.model.Flops;
import dagmoe.model.Model;
import dagmoe.model.ParamCounts;
import dagmoe.model.Parameter;
import dagmoe.model.StepResult;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;
import dagmoe.optim.LrSchedule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The training loop (nanoGPT / llm.c style): for each step, draw a batch, set the learning rate,
 * forward + backward, check for NaN/Inf, clip the global gradient norm, AdamW update; every log_every
 * steps a metrics line, every eval_every steps an evaluation, every checkpoint_every steps (and at the
 * end or at {@code until}) a checkpoint. Same config, seed, backend and threads give the same losses,
 * bit for bit, whether the run is interrupted and resumed or not.
 */
public final class Trainer {

    /** Extra evaluation metrics (e.g. {@code test_accuracy} of a reasoning task), computed at each evaluation. */
    public interface Evaluator {
        Map<String, Double> evaluate(Model model);
    }

    /** Progress reporting (progress bar on a terminal, plain lines otherwise). */
    public interface Progress {
        default void start(int fromStep, int untilStep, int totalSteps) {}

        default void step(int step, double loss, double tokensPerSecond) {}

        /** A log line (metrics, evaluation, checkpoint). */
        default void log(String line) {}

        default void end() {}
    }

    /** What a run (or a run segment up to {@code until}) ended with. */
    public record Result(int step, boolean finished, double finalTrainLoss, double valLoss, double valPpl,
                         Map<String, Double> extra, double tokensPerSecond, double wallSeconds, Path lastCheckpoint) {}

    /** Everything the trainer needs besides the model and its config. */
    public record Setup(Path runDir, BatchSource train, List<Batch> val, Evaluator evaluator, JsonNode config,
                        JsonNode tokenizer, Progress progress) {
        Progress progressOrNone() {
            return progress != null ? progress : new Progress() {};
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Model model;
    private final Backend be;
    private final List<Parameter> params;
    private final List<Parameter> trainable; // params minus the frozen groups (train.freeze): what AdamW and the clip see
    private final ObjectNode summaryInfo = JSON.createObjectNode(); // extra summary.json entries set by the caller
    private final TrainConfig cfg;
    private final AdamW optimizer;
    private final Setup setup;
    private final Checkpoints checkpoints;
    private final int B, S;
    private final int[] inputs, targets;
    private final double[] normOut = new double[1];

    private int step;                                  // optimizer steps done
    private TrainCounters counters = new TrainCounters(); // carried across checkpoints (state.json "progress")
    private Path lastCheckpoint;
    private DeviceGroup devices;       // several devices of this process (null: the model's backend alone)
    private int autoWeightSteps;       // > 0: backend.device_weights = auto, measured over the steps after the first
    private final List<double[]> autoSamples = new java.util.ArrayList<>();
    private int groupSteps;            // steps this process ran over the devices
    private Replicas replicas;        // data-parallel training (null: this process alone)
    private int[] localInputs, localTargets;
    private float[] flatGrads;

    public Trainer(Model model, TrainConfig cfg, Setup setup) {
        this.model = model;
        this.be = model.backend();
        be.setProfiling(false); // a device profiler waits for every kernel it times: training wants only the step's time
        this.params = model.parameters();
        this.cfg = cfg;
        this.setup = setup;
        this.trainable = trainable(model, cfg.freeze());
        this.optimizer = new AdamW(trainable, (float) cfg.beta1(), (float) cfg.beta2(), (float) cfg.eps(),
                (float) cfg.weightDecay(), cfg.decayAll(), be);
        this.checkpoints = new Checkpoints(setup.runDir());
        this.B = cfg.batchSize();
        this.S = model.config().seqLen();
        this.inputs = new int[B * S];
        this.targets = new int[B * S];
    }

    public int step() { return step; }

    public AdamW optimizer() { return optimizer; }

    /**
     * Trains as one of {@code r.size()} data-parallel replicas (before {@link #run}): each step this replica
     * trains on rows [rank·B/N, (rank+1)·B/N) of the global batch, the gradients are summed across replicas
     * ({@link Replicas#allReduce}) and averaged; the LM loss is the global batch's (each replica scales its
     * cross-entropy gradient by N / the global batch's counted targets) and so is the z-loss, while the
     * balance loss is each replica's own over its rows (as per-device MoE training computes it). Only
     * replica 0 writes metrics, evaluations, checkpoints and the summary.
     */
    public void dataParallel(Replicas r) {
        if (B % r.size() != 0) {
            throw new IllegalArgumentException("train.batch_size = " + B + ": must be a multiple of the "
                    + r.size() + " data-parallel replicas");
        }
        this.replicas = r;
    }

    private boolean writes() { return replicas == null || replicas.rank() == 0; }

    /** Entries added to summary.json when the run finishes (e.g. where a fine-tuned run started from). */
    public ObjectNode summaryInfo() { return summaryInfo; }

    /**
     * The parameters outside the frozen groups, in model order. Frozen ones get no AdamW update (no weight decay
     * either), no optimizer state, and do not count in the gradient-norm clip. IllegalArgumentException for an
     * unknown group, "head" with a tied embedding (the head is tok_emb: freeze "embedding"), or nothing left to train.
     */
    public static List<Parameter> trainable(Model model, List<String> freeze) {
        for (String g : freeze) {
            if (!Model.COMPONENTS.contains(g))
                throw new IllegalArgumentException("train.freeze: " + g + " is not one of " + String.join(", ", Model.COMPONENTS));
        }
        if (freeze.contains("head") && model.config().tieEmbeddings() && !freeze.contains("embedding")) {
            throw new IllegalArgumentException("train.freeze = " + freeze + ": with model.tie_embeddings = true the head is"
                    + " tok_emb; freeze \"embedding\" to freeze it");
        }
        List<Parameter> out = new java.util.ArrayList<>();
        for (Parameter p : model.parameters()) if (!freeze.contains(model.component(p.name()))) out.add(p);
        if (out.isEmpty()) throw new IllegalArgumentException("train.freeze = " + freeze + ": freezes every parameter, nothing to train");
        return out;
    }

    /**
     * Trains over the devices of {@code group} (before {@link #run}): replica 0 must be this trainer's model.
     * {@code autoSteps} > 0: the split starts equal and, after the first step (compilation) and
     * {@code autoSteps} measured ones, is set so that the devices finish together (rows in proportion to each
     * device's measured rows per second); the split chosen is logged and written to the metrics.
     */
    public void devices(DeviceGroup group, int autoSteps) {
        if (replicas != null) {
            throw new IllegalArgumentException("backend.devices: one process over several devices cannot also be a data-parallel replica");
        }
        this.devices = group;
        this.autoWeightSteps = autoSteps;
    }

    /** One step's forward and backward: on the model's backend, or over the devices of the group. */
    private StepResult forwardBackward(Progress progress, MetricsWriter metrics) {
        if (devices == null) return model.trainStep(inputs, targets, B, S);
        StepResult r = devices.step(inputs, targets, B, S);
        groupSteps++;
        if (autoWeightSteps > 0 && groupSteps > 1 && autoSamples.size() < autoWeightSteps) { // the first compiles: not measured
            double[] rate = new double[devices.size()];
            for (int i = 0; i < rate.length; i++) {
                DeviceGroup.DeviceTime t = devices.lastTimes().get(i);
                rate[i] = t.rows() / Math.max(1e-9, t.computeSeconds() + t.transferSeconds());
            }
            autoSamples.add(rate);
            if (autoSamples.size() == autoWeightSteps) {
                double[] w = new double[rate.length];
                for (int i = 0; i < w.length; i++) {
                    double[] col = new double[autoSamples.size()];
                    for (int k = 0; k < col.length; k++) col[k] = autoSamples.get(k)[i];
                    w[i] = dagmoe.stats.Quantiles.median(col);
                }
                devices.setRows(DeviceGroup.split(B, w));
                String split = java.util.Arrays.toString(devices.rows());
                progress.log("backend.device_weights = auto: rows per device " + split + " for " + devices.names()
                        + " (measured rows/s " + java.util.Arrays.toString(java.util.Arrays.stream(w).map(Math::round).toArray()) + ")");
                ObjectNode line = MetricsWriter.object().put("kind", "devices").put("step", step + 1);
                ArrayNode rows = line.putArray("rows");
                for (int x : devices.rows()) rows.add(x);
                metrics.write(line);
            }
        }
        return r;
    }

    // ---------------------------------------------------------------- the loop

    /** Trains from the current step to min(until, train.steps); {@code until <= 0} means train.steps. */
    public Result run(int until) {
        int last = until > 0 ? Math.min(until, cfg.steps()) : cfg.steps();
        long wallStart = System.nanoTime();
        Progress progress = setup.progressOrNone();
        Window window = new Window();
        double valLoss = Double.NaN;
        Map<String, Double> extra = new LinkedHashMap<>();
        progress.start(step, last, cfg.steps());
        // A backend that records operations (Backend#defersReads) gets the step's reads at its end.
        boolean deferred = devices == null && replicas == null && be.defersReads();
        model.setDeferredStats(deferred);
        if (devices != null) devices.broadcast(); // a fresh, resumed or warm-started replica 0 to every device
        try (MetricsWriter metrics = writes() ? new MetricsWriter(setup.runDir(), step) : MetricsWriter.discarding()) {
            while (step < last) {
                long t0 = System.nanoTime();
                setup.train().next(inputs, targets);
                double lr = LrSchedule.at(step, cfg.warmupSteps(), cfg.steps(), cfg.lr(), cfg.minLr());
                StepResult r = replicas != null ? replicaStep() : forwardBackward(progress, metrics);
                // clipped where the backend runs; a deferred step's losses are read with the norm (one wait)
                GradClip.clipGlobalNorm(trainable, (float) cfg.gradClip(), be, normOut);
                r = model.readStep(r, normOut);
                checkLosses(step + 1, r);
                double gradNorm = normOut[0];
                if (!Double.isFinite(gradNorm)) throw diverged(step + 1, firstNonFiniteGradient(), "gradient");
                optimizer.step((float) lr);
                if (devices != null) devices.broadcast();
                step++;
                double seconds = (System.nanoTime() - t0) / 1e9;

                counters.add(step, cfg.steps(), seconds, (long) B * S, r.tokens(), r.loss());
                window.add(r, seconds);
                progress.step(step, r.loss(), B * S / Math.max(seconds, 1e-9));

                if (cfg.isLogStep(step)) {
                    ObjectNode line = window.line(step, r, lr, gradNorm);
                    metrics.write(line);
                    progress.log(String.format("step %d/%d | loss %.4f | lr %.2e | norm %.3f | %.0f tok/s | %.1f ms",
                            step, cfg.steps(), r.loss(), lr, gradNorm, line.get("tokens_per_second").asDouble(),
                            line.get("step_ms").asDouble()));
                    window = new Window();
                }
                if (cfg.isEvalStep(step) && writes()) {
                    valLoss = validationLoss();
                    extra = setup.evaluator() != null ? setup.evaluator().evaluate(model) : Map.of();
                    ObjectNode line = MetricsWriter.object().put("kind", "eval").put("step", step)
                            .put("val_loss", valLoss).put("val_ppl", Math.exp(valLoss));
                    extra.forEach(line::put);
                    metrics.write(line);
                    StringBuilder msg = new StringBuilder(String.format("step %d/%d | val_loss %.4f | val_ppl %.2f",
                            step, cfg.steps(), valLoss, Math.exp(valLoss)));
                    extra.forEach((k, v) -> msg.append(String.format(" | %s %.4f", k, v)));
                    progress.log(msg.toString());
                }
                if ((cfg.isCheckpointStep(step) || step == last) && writes()) {
                    double wallNow = counters.wallSecondsBefore + (System.nanoTime() - wallStart) / 1e9;
                    metrics.sync(); // the metrics up to this step are on disk before the checkpoint exists
                    lastCheckpoint = saveCheckpoint(wallNow);
                }
            }
        } finally {
            model.setDeferredStats(false);
            progress.end();
        }
        double wall = counters.wallSecondsBefore + (System.nanoTime() - wallStart) / 1e9;
        counters.wallSecondsBefore = wall;
        boolean finished = step >= cfg.steps();
        Result result = new Result(step, finished, counters.finalTrainLoss(), valLoss, Math.exp(valLoss), extra,
                counters.tokensPerSecond(), wall, lastCheckpoint);
        if (finished && writes()) writeSummary(result);
        return result;
    }

    /**
     * One data-parallel step: this replica's rows, forward + backward, then the all-reduce of the trainable
     * parameters' gradients (averaged; frozen ones get no update) and of the statistics the metrics report (LM loss sum and count, aux losses, expert load, gates).
     */
    private StepResult replicaStep() {
        int n = replicas.size(), b = B / n, len = b * S, off = replicas.rank() * len;
        if (localInputs == null) {
            localInputs = new int[len];
            localTargets = new int[len];
            long total = 0;
            for (Parameter p : trainable) total += p.size();
            if (total > Integer.MAX_VALUE) throw new IllegalStateException("too many parameters for one gradient buffer");
            flatGrads = new float[(int) total];
        }
        System.arraycopy(inputs, off, localInputs, 0, len);
        System.arraycopy(targets, off, localTargets, 0, len);
        int counted = 0;
        for (int t = 0; t < B * S; t++) if (targets[t] >= 0) counted++;
        StepResult r = model.trainStep(localInputs, localTargets, b, S, counted > 0 ? (float) n / counted : 0f);

        int[][] load = r.expertLoad();
        float[][][] gates = r.gateMeans();
        int nStats = 4;
        for (int[] l : load) nStats += l.length;
        for (float[][] layer : gates) for (float[] round : layer) nStats += round.length;
        double[] stats = new double[nStats];
        stats[0] = r.tokens() > 0 ? r.loss() * r.tokens() : 0;
        stats[1] = r.tokens();
        stats[2] = r.balanceLoss();
        stats[3] = r.zLoss();
        int k = 4;
        for (int[] l : load) for (int x : l) stats[k++] = x;
        for (float[][] layer : gates) for (float[] round : layer) for (float x : round) stats[k++] = x;
        int at = 0;
        for (Parameter p : trainable) {
            be.toHost(p.grad());
            System.arraycopy(p.grad(), 0, flatGrads, at, p.size());
            at += p.size();
        }
        replicas.allReduce(flatGrads, stats);
        float inv = 1f / n;
        at = 0;
        for (Parameter p : trainable) {
            float[] g = p.grad();
            for (int i = 0; i < p.size(); i++) g[i] = flatGrads[at + i] * inv;
            at += p.size();
            be.hostWrote(g);
        }
        k = 4;
        int[][] sumLoad = new int[load.length][];
        for (int i = 0; i < load.length; i++) {
            sumLoad[i] = new int[load[i].length];
            for (int e = 0; e < load[i].length; e++) sumLoad[i][e] = (int) stats[k++];
        }
        float[][][] meanGates = new float[gates.length][][];
        for (int i = 0; i < gates.length; i++) {
            meanGates[i] = new float[gates[i].length][];
            for (int j = 0; j < gates[i].length; j++) {
                meanGates[i][j] = new float[gates[i][j].length];
                for (int e = 0; e < gates[i][j].length; e++) meanGates[i][j][e] = (float) (stats[k++] / n);
            }
        }
        int tokensAll = (int) stats[1];
        double loss = tokensAll > 0 ? stats[0] / tokensAll : 0.0, bal = stats[2] / n, z = stats[3] / n;
        return new StepResult(loss, bal, z, loss + bal + z, tokensAll, sumLoad, meanGates);
    }

    /** Mean LM loss over the validation batches (weighted by their counted targets). */
    public double validationLoss() {
        double sum = 0;
        long n = 0;
        for (Batch b : setup.val()) {
            StepResult r = model.forward(b.inputs(), b.targets(), b.batchSize(), b.seqLen());
            if (r.tokens() > 0) {
                sum += r.loss() * r.tokens();
                n += r.tokens();
            }
        }
        return n > 0 ? sum / n : Double.NaN;
    }

    // ---------------------------------------------------------------- NaN / Inf

    private void checkLosses(int atStep, StepResult r) {
        if (!Double.isFinite(r.loss())) throw diverged(atStep, "loss", "LM loss = " + r.loss());
        if (!Double.isFinite(r.balanceLoss())) throw diverged(atStep, "balance_loss", "balance loss = " + r.balanceLoss());
        if (!Double.isFinite(r.zLoss())) throw diverged(atStep, "z_loss", "router z-loss = " + r.zLoss());
    }

    private String firstNonFiniteGradient() {
        for (Parameter p : trainable) if (be.hasNonFinite(p.grad(), p.size())) return p.name();
        return "(global gradient norm)";
    }

    private TrainingDivergedException diverged(int atStep, String tensor, String what) {
        String where = what.equals("gradient") ? "the gradient of " + tensor + " contains NaN or Inf" : what + " (" + tensor + ")";
        String keep = lastCheckpoint != null ? lastCheckpoint.toString()
                : checkpoints.latest().map(Path::toString).orElse("none yet");
        return new TrainingDivergedException(atStep, tensor, "training stopped at step " + atStep + ": " + where
                + "; nothing was saved for this step (last good checkpoint: " + keep + ")");
    }

    // ---------------------------------------------------------------- checkpoints

    private Path saveCheckpoint(double wallSeconds) {
        Map<String, Safetensors.Tensor> weights = new LinkedHashMap<>();
        Map<String, Safetensors.Tensor> moments = new LinkedHashMap<>();
        for (Parameter p : params) {
            be.toHost(p.data()); // device backends keep it on the device
            weights.put(p.name(), new Safetensors.Tensor(p.shape(), p.data()));
        }
        for (int i = 0; i < trainable.size(); i++) { // frozen parameters have no optimizer state
            Parameter p = trainable.get(i);
            be.toHost(optimizer.m(i), optimizer.v(i));
            moments.put("m." + p.name(), new Safetensors.Tensor(p.shape(), optimizer.m(i)));
            moments.put("v." + p.name(), new Safetensors.Tensor(p.shape(), optimizer.v(i)));
        }
        ObjectNode state = JSON.createObjectNode();
        state.put("format", Checkpoints.FORMAT);
        state.put("step", step);
        state.put("optimizer_step", optimizer.stepCount());
        state.put("seed", cfg.seed());
        // The data order is a counter-based generator of (seed, cursor): the cursor is the whole RNG state.
        state.putObject("data").put("cursor", setup.train().cursor());
        state.put("backend", be.name());
        state.put("threads", be.threads());
        state.set("progress", counters.toJson(wallSeconds));
        if (setup.tokenizer() != null) state.set("tokenizer", setup.tokenizer());
        // The config is stored once per run (config.json), not in every checkpoint.
        Path folder = checkpoints.save(step, weights, moments, state, cfg.keepCheckpoints());
        setup.progressOrNone().log("checkpoint " + setup.runDir().relativize(folder));
        return folder;
    }

    /** Continues from a checkpoint folder: weights, AdamW moments and step, data cursor, progress. */
    public void resumeFrom(Path folder) {
        resumeFrom(Checkpoints.load(folder));
    }

    /** Continues from a checkpoint already loaded (and verified). */
    public void resumeFrom(Checkpoints.Loaded c) {
        Path folder = c.folder();
        loadWeights(c, params);
        for (Parameter p : params) be.hostWrote(p.data());
        Path optFile = folder.resolve(Checkpoints.OPTIMIZER_FILE);
        for (Parameter p : trainable) {
            float[] m = tensor(c.optimizer(), "m." + p.name(), p, optFile);
            float[] v = tensor(c.optimizer(), "v." + p.name(), p, optFile);
            optimizer.setState(p.name(), m, v);
        }
        JsonNode st = c.state();
        optimizer.setStepCount(st.path("optimizer_step").asInt((int) c.step()));
        setup.train().seek(st.path("data").path("cursor").asLong());
        step = (int) c.step();
        counters = TrainCounters.fromJson(st.path("progress"));
        lastCheckpoint = folder;
    }

    /**
     * Copies a checkpoint's weights into {@code params}; a missing tensor or another shape is a CheckpointException.
     * A model whose backend already ran operations on these arrays needs {@code backend.hostWrote(p.data())} after.
     */
    public static void loadWeights(Checkpoints.Loaded c, List<Parameter> params) {
        Path file = c.folder().resolve(Checkpoints.MODEL_FILE);
        for (Parameter p : params) {
            float[] w = tensor(c.model(), p.name(), p, file);
            System.arraycopy(w, 0, p.data(), 0, w.length);
        }
    }

    private static float[] tensor(Map<String, Safetensors.Tensor> ts, String name, Parameter p, Path file) {
        Safetensors.Tensor t = ts.get(name);
        if (t == null) throw new CheckpointException(file + ": no tensor " + name + " (the config's model needs it)");
        if (!Arrays.equals(t.shape(), p.shape())) {
            throw new CheckpointException(file + ": tensor " + name + " has shape " + Arrays.toString(t.shape())
                    + " but the config's model needs " + Arrays.toString(p.shape()));
        }
        return t.data();
    }

    // ---------------------------------------------------------------- summary

    private void writeSummary(Result r) {
        ParamCounts pc = model.paramCounts();
        ObjectNode s = JSON.createObjectNode();
        s.put("val_loss", r.valLoss());
        s.put("val_ppl", r.valPpl());
        s.put("final_train_loss", r.finalTrainLoss());
        s.put("tokens_per_second", r.tokensPerSecond());
        s.put("params_total", pc.total());
        s.put("params_active", pc.active());
        s.put("params_aggregator", pc.aggregator());
        long trainableCount = trainable.stream().mapToLong(Parameter::size).sum();
        s.put("params_trainable", trainableCount);
        s.put("params_frozen", pc.total() - trainableCount);
        ArrayNode frozen = s.putArray("freeze");
        cfg.freeze().forEach(frozen::add);
        s.put("steps", r.step());
        s.put("wall_seconds", r.wallSeconds());
        s.put("backend", be.name());
        s.put("aggregator", model.config().aggregator().key());
        r.extra().forEach(s::put);
        s.setAll(summaryInfo);
        s.put("threads", be.threads());
        s.put("seed", cfg.seed());
        counters.summarise(s, r.step(), (long) B * S);
        // model FLOPs utilisation at the median step, against the cpu 1024³ product ceiling (framework/MODEL.md)
        double flops = Flops.trainingStep(model.config(), B), median = s.get("median_step_ms").asDouble();
        double ceiling = Mfu.ceilingGflops(be.threads());
        s.put("model_flops_per_step", flops);
        s.put("matmul_ceiling_gflops", ceiling);
        s.put("mfu", Double.isFinite(median) ? Mfu.of(flops, median / 1000, ceiling) : Double.NaN);
        try {
            AtomicWrite.writeBytes(setup.runDir().resolve("summary.json"), JSON.writeValueAsBytes(s));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- metrics window

    /** Accumulates the steps between two metrics lines: time, tokens, expert load, DAG gate means. */
    private final class Window {
        int steps;
        long tokens;
        double seconds;
        long[][] load;
        double[][][] gates;

        void add(StepResult r, double sec) {
            steps++;
            tokens += (long) B * S;
            seconds += sec;
            int[][] l = r.expertLoad();
            if (l != null) {
                if (load == null) {
                    load = new long[l.length][];
                    for (int i = 0; i < l.length; i++) load[i] = new long[l[i].length];
                }
                for (int i = 0; i < l.length; i++) for (int e = 0; e < l[i].length; e++) load[i][e] += l[i][e];
            }
            float[][][] g = r.gateMeans();
            if (g != null && g.length > 0) {
                if (gates == null) {
                    gates = new double[g.length][][];
                    for (int i = 0; i < g.length; i++) {
                        gates[i] = new double[g[i].length][];
                        for (int j = 0; j < g[i].length; j++) gates[i][j] = new double[g[i][j].length];
                    }
                }
                for (int i = 0; i < g.length; i++)
                    for (int j = 0; j < g[i].length; j++)
                        for (int k = 0; k < g[i][j].length; k++) gates[i][j][k] += g[i][j][k];
            }
        }

        ObjectNode line(int atStep, StepResult r, double lr, double gradNorm) {
            ObjectNode o = MetricsWriter.object();
            o.put("kind", "train").put("step", atStep).put("loss", r.loss()).put("balance_loss", r.balanceLoss())
                    .put("z_loss", r.zLoss()).put("total_loss", r.totalLoss()).put("lr", lr).put("grad_norm", gradNorm)
                    .put("tokens_per_second", tokens / Math.max(seconds, 1e-9)).put("step_ms", 1000 * seconds / steps);
            if (load != null) {
                ArrayNode a = o.putArray("expert_load"); // [moe block][expert], fraction of the window's slots
                for (long[] layer : load) {
                    long total = Arrays.stream(layer).sum();
                    ArrayNode row = a.addArray();
                    for (long x : layer) row.add(total > 0 ? (double) x / total : 0);
                }
            }
            if (gates != null) {
                ArrayNode a = o.putArray("gate_means"); // [moe block][round][K·K] by router rank (i, j)
                for (double[][] layer : gates) {
                    ArrayNode rounds = a.addArray();
                    for (double[] round : layer) {
                        ArrayNode row = rounds.addArray();
                        for (double x : round) row.add(x / steps);
                    }
                }
            }
            return o;
        }
    }
}
