package dagmoe.parity;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.field.Fields;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import dagmoe.model.StepResult;
import dagmoe.optim.AdamW;
import dagmoe.optim.GradClip;
import dagmoe.optim.LrSchedule;
import dagmoe.train.Safetensors;
import dagmoe.train.TrainConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * One parity configuration: a tiny model, its weights, a batch and a training setup, written to files for
 * the PyTorch reference, and the same computation on a dagmoe backend.
 *
 * <p>Weights: the model's shapes and names, with every matrix drawn N(0, 1/fan_in) (fan_in = last dimension)
 * and every norm scale 1 + N(0, 0.1) instead of the training initialisation. At init_std 0.02 the DAG's
 * projections are so small that every edge gate is sigmoid(~0.005) = 0.5 and dag/mix w_up are zero: a
 * parity test there could not tell sigmoid(a_i + b_j) from sigmoid(a_i + b_i) (measured: logits differ by
 * 3e-8). With unit-scale signals every path, the gates' non-linearity and the routing margins carry weight.
 */
final class ParityCase {
    static final int BATCH = 2, SEQ = 8, STEPS = 10;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * The "train" section of the 10-step run: warm-up then cosine, clipping active, decay on matrices (AdamW
     * beta1 0.9, beta2 0.95, eps 1e-8, weight decay 0.1: the defaults).
     */
    static final TrainConfig TRAIN = TrainConfig.builder().set("steps", STEPS).set("lr", 3e-3).set("min_lr", 3e-4)
            .set("warmup_steps", 3).set("grad_clip", 0.5).build();

    final String name;
    final ModelConfig cfg;
    final long seed;
    final int[] inputs, targets;

    ParityCase(String name, ModelConfig cfg, long seed) {
        this.name = name;
        this.cfg = cfg;
        this.seed = seed;
        SplittableRandom r = new SplittableRandom(seed ^ 0x5eed);
        int T = BATCH * SEQ;
        inputs = new int[T];
        targets = new int[T];
        for (int t = 0; t < T; t++) inputs[t] = r.nextInt(cfg.vocabSize());
        for (int t = 0; t < T; t++) targets[t] = r.nextInt(cfg.vocabSize());
        targets[3] = -1;  // ignored targets: the mean runs over the other rows
        targets[T - 1] = -1;
    }

    /** The tiny base every case starts from: V 32, d 16, 2 heads (hd 8), 2 layers, seq 8, N 4, K 2, de 24. */
    static Fields.Builder<ModelConfig> tiny(String aggregator) {
        return ModelConfig.builder().set("vocab_size", 32).set("d_model", 16).set("n_heads", 2).set("n_layers", 2).set("seq_len", SEQ).set("n_experts", 4).set("top_k", 2)
                .set("expert_hidden", 24).set("moe_every", 1).set("tie_embeddings", false).set("init_std", 0.02).set("aggregator", aggregator)
                .set("dag.rounds", 2).set("dag.width", 8).set("mlp_mix.width", 8).set("chain.rounds", 2).set("shared.hidden", 0)
                .set("router.balance_coef", 0.01).set("router.z_loss_coef", 0.001).set("router.normalize_topk", true);
    }

    /** A model on {@code backend} holding this case's weights. */
    Model model(Backend backend) {
        Model m = new Model(cfg, backend, seed);
        SplittableRandom r = new SplittableRandom(seed * 31 + 7);
        for (Parameter p : m.parameters()) {
            float[] w = p.data();
            int[] shape = p.shape();
            double std = 1 / Math.sqrt(shape[shape.length - 1]);
            for (int i = 0; i < w.length; i++)
                w[i] = (float) (shape.length == 1 ? 1 + 0.1 * gauss(r) : std * gauss(r));
        }
        return m;
    }

    private static double gauss(SplittableRandom r) {
        double u1 = 1.0 - r.nextDouble(), u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Where parity.py writes its output for this dtype ("float32" or "float64") and mutation ("" = none). */
    static Path outputFile(Path dir, String dtype, String mutate) {
        return dir.resolve("torch-" + dtype + (mutate.isEmpty() ? "" : "-" + mutate) + ".safetensors");
    }

    /**
     * Writes model.safetensors, config.json, batch.json, train.json into dir; returns the parity.py job that
     * runs the reference on them in {@code dtype} (float32 or float64) with {@code mutate} ("" = none).
     */
    Map<String, Object> writeInputs(Path dir, String dtype, String mutate) throws IOException {
        Files.createDirectories(dir);
        Model m = model(Backends.create("java", 1));
        Map<String, Safetensors.Tensor> tensors = new LinkedHashMap<>();
        for (Parameter p : m.parameters()) tensors.put(p.name(), new Safetensors.Tensor(p.shape(), p.data()));
        Safetensors.write(dir.resolve("model.safetensors"), tensors, Map.of("case", name));
        JSON.writeValue(dir.resolve("config.json").toFile(), Map.of("model", modelJson(cfg)));
        JSON.writeValue(dir.resolve("batch.json").toFile(),
                Map.of("batch", BATCH, "seq", SEQ, "inputs", inputs, "targets", targets));
        JSON.writeValue(dir.resolve("train.json").toFile(), trainJson());
        Map<String, Object> job = new LinkedHashMap<>();
        job.put("checkpoint", dir.resolve("model.safetensors").toString());
        job.put("config", dir.resolve("config.json").toString());
        job.put("batch", dir.resolve("batch.json").toString());
        job.put("train_config", dir.resolve("train.json").toString());
        job.put("steps", STEPS);
        job.put("out", outputFile(dir, dtype, mutate).toString());
        job.put("dtype", dtype);
        job.put("mutate", mutate);
        return job;
    }

    /** The "model" section with the keys of framework/MODEL.md and the config schema (from the declarations). */
    static JsonNode modelJson(ModelConfig c) {
        return Fields.toJson(c);
    }

    static Map<String, Object> trainJson() {
        return Map.of("train", Fields.toJson(TRAIN));
    }

    /**
     * The dagmoe side, in the names of parity.py's output: logits, lm, balance, z, loss, grad.&lt;name&gt;
     * (first step, before clipping), after.&lt;name&gt; (after STEPS steps of trainStep, GradClip, AdamW at
     * LrSchedule's rate, as the Trainer does), per-step losses; plus before.&lt;name&gt; and decay.&lt;name&gt;.
     */
    Map<String, float[]> runDagmoe(Backend be) {
        Model m = model(be);
        List<Parameter> params = m.parameters();
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Parameter p : params) {
            out.put("before." + p.name(), p.data().clone());
            out.put("decay." + p.name(), new float[] {p.decay() ? 1f : 0f});
        }
        StepResult first = m.trainStep(inputs, targets, BATCH, SEQ);
        out.put("logits", m.logits());
        float[] firstLosses = lossesOf(first);
        for (int i = 0; i < LOSSES.length; i++) out.put(LOSSES[i], new float[] {firstLosses[i]});
        for (Parameter p : params) out.put("grad." + p.name(), p.grad().clone());

        TrainConfig t = TRAIN;
        AdamW opt = new AdamW(params, (float) t.beta1(), (float) t.beta2(), (float) t.eps(), (float) t.weightDecay(), t.decayAll(), be);
        float[][] series = new float[LOSSES.length][STEPS];
        float[] norms = new float[STEPS];
        for (int step = 0; step < STEPS; step++) {
            double lr = LrSchedule.at(step, t.warmupSteps(), t.steps(), t.lr(), t.minLr());
            StepResult r = m.trainStep(inputs, targets, BATCH, SEQ);
            norms[step] = (float) GradClip.clipGlobalNorm(params, (float) t.gradClip(), be);
            opt.step((float) lr);
            float[] l = lossesOf(r);
            for (int i = 0; i < LOSSES.length; i++) series[i][step] = l[i];
        }
        for (Parameter p : params) out.put("after." + p.name(), p.data().clone());
        for (int i = 0; i < LOSSES.length; i++) out.put(LOSS_SERIES[i], series[i]);
        out.put("grad_norms", norms);
        return out;
    }

    /** A step's losses under the names of parity.py: first step alone, and per step (its hist keys). */
    static final String[] LOSSES = {"lm", "balance", "z", "loss"};
    static final String[] LOSS_SERIES = {"lm_losses", "balance_losses", "z_losses", "losses"};

    /** The losses of a step in the order of {@link #LOSSES}: LM, load balance, z, total. */
    static float[] lossesOf(StepResult r) {
        return new float[] {(float) r.loss(), (float) r.balanceLoss(), (float) r.zLoss(), (float) r.totalLoss()};
    }
}
