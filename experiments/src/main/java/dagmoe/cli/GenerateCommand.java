package dagmoe.cli;

import dagmoe.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code dagmoe generate}: sample a continuation of a prompt from a run's latest checkpoint. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample a continuation of a prompt from a run's latest checkpoint (temperature, top-k, seeded).",
        footer = {"", "Exit codes: 0 done, 1 internal failure, 2 bad input (run folder, checkpoint, arguments)."})
public final class GenerateCommand implements Callable<Integer> {
    @Option(names = "--run", required = true, paramLabel = "DIR", description = "run folder")
    Path run;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "text to continue")
    String prompt;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "200", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8", description = "sampling temperature; 0 = greedy (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "sample among the K most likely tokens; 0 = all (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed;

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (tokens < 0) throw new CliSupport.BadInput("--tokens " + tokens + ": must be >= 0");
            if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new CliSupport.BadInput("--temperature " + temperature + ": must be >= 0");
            if (topK < 0) throw new CliSupport.BadInput("--top-k " + topK + ": must be >= 0");
            RunModel rm = RunModel.load(run, backendOptions.backend, backendOptions.threads);
            if (rm.tokenizer() == null) {
                throw new CliSupport.BadInput(run + " trains the reasoning task " + rm.config().data().task()
                        + ", not text: use dagmoe eval for its test accuracy");
            }
            int[] ids = rm.tokenizer().encode(prompt);
            if (ids.length == 0) throw new CliSupport.BadInput("--prompt: empty prompt");
            int[] out = generate(rm.model(), ids, tokens, temperature, topK, seed);
            System.out.println(rm.tokenizer().decode(out));
            return CliSupport.OK;
        });
    }

    /** Prompt + n sampled tokens; the context is the last seq_len tokens (no KV cache: one forward per token). */
    static int[] generate(Model model, int[] prompt, int n, double temperature, int topK, long seed) {
        int S = model.config().seqLen(), V = model.config().vocabSize();
        SplittableRandom rng = new SplittableRandom(seed);
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        int len = prompt.length;
        double[] p = new double[V];
        for (int i = 0; i < n; i++) {
            int ctx = Math.min(len, S);
            int[] window = Arrays.copyOfRange(all, len - ctx, len);
            model.forward(window, null, 1, ctx);
            float[] logits = model.logits();
            int row = (ctx - 1) * V;
            all[len++] = sample(logits, row, V, temperature, topK, rng, p);
        }
        return all;
    }

    /** Greedy at temperature 0; otherwise softmax(logits / T) restricted to the top-k logits. */
    static int sample(float[] logits, int off, int V, double temperature, int topK, SplittableRandom rng, double[] p) {
        int best = 0;
        for (int v = 1; v < V; v++) if (logits[off + v] > logits[off + best]) best = v;
        if (temperature == 0) return best;
        double cut = Double.NEGATIVE_INFINITY;
        if (topK > 0 && topK < V) {
            float[] sorted = Arrays.copyOfRange(logits, off, off + V);
            Arrays.sort(sorted);
            cut = sorted[V - topK];
        }
        double max = logits[off + best], sum = 0;
        for (int v = 0; v < V; v++) {
            p[v] = logits[off + v] >= cut ? Math.exp((logits[off + v] - max) / temperature) : 0;
            sum += p[v];
        }
        double u = rng.nextDouble() * sum;
        for (int v = 0; v < V; v++) {
            u -= p[v];
            if (u <= 0 && p[v] > 0) return v;
        }
        return best;
    }
}
