package dagmoe.cli;

import dagmoe.data.Tokenizer;
import dagmoe.model.Model;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.IntConsumer;

/** {@code dagmoe generate}: sample a continuation of a prompt from a run's latest checkpoint. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Sample a continuation of a prompt from a run's latest checkpoint (temperature, top-k, seeded).",
        footer = {"", "Exit codes: 0 done, 1 internal failure, 2 bad input (run folder, checkpoint, arguments)."})
public final class GenerateCommand implements Callable<Integer> {
    @Mixin
    RunModel.Options trained = new RunModel.Options();

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "text to continue")
    String prompt;

    /** The most tokens one call generates (one forward pass of the whole context per token: no KV cache). */
    static final int MAX_TOKENS = 1_000_000;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "200",
            description = "tokens to generate, at most " + MAX_TOKENS + "; printed as they are sampled (default ${DEFAULT-VALUE})")
    int tokens;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0.8", description = "sampling temperature; 0 = greedy (default ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "40", description = "sample among the K most likely tokens; 0 = all (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (tokens < 0) throw new CliSupport.BadInput("--tokens " + tokens + ": must be >= 0");
            if (tokens > MAX_TOKENS) throw new CliSupport.BadInput("--tokens " + tokens + ": must be <= " + MAX_TOKENS);
            if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new CliSupport.BadInput("--temperature " + temperature + ": must be >= 0");
            if (topK < 0) throw new CliSupport.BadInput("--top-k " + topK + ": must be >= 0");
            RunModel rm = trained.load();
            if (rm.tokenizer() == null) {
                throw new CliSupport.BadInput(trained.run + " trains the reasoning task " + rm.config().data().task()
                        + ", not text: use dagmoe eval for its test accuracy");
            }
            int[] ids = rm.tokenizer().encode(prompt);
            if (ids.length == 0) throw new CliSupport.BadInput("--prompt: empty prompt");
            // The prompt, then each token as it is sampled (a multi-byte character once it is whole): an interrupted
            // generate keeps what it printed.
            System.out.print(prompt);
            System.out.flush();
            Printer printer = new Printer(rm.tokenizer(), System.out);
            generate(rm.model(), ids, tokens, temperature, topK, seed, printer::add);
            printer.finish();
            return CliSupport.OK;
        });
    }

    /** Prompt + n sampled tokens as one array (for tests; the command streams with the IntConsumer form). */
    static int[] generate(Model model, int[] prompt, int n, double temperature, int topK, long seed) {
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        int[] len = {prompt.length};
        generate(model, prompt, n, temperature, topK, seed, t -> all[len[0]++] = t);
        return all;
    }

    /**
     * Samples n tokens after the prompt, handing each to {@code out} as it is drawn; the context is the last
     * seq_len tokens (no KV cache: one forward per token). Memory: the context window and one row of
     * probabilities, whatever n is.
     */
    static void generate(Model model, int[] prompt, int n, double temperature, int topK, long seed, IntConsumer out) {
        int S = model.config().seqLen(), V = model.config().vocabSize();
        SplittableRandom rng = new SplittableRandom(seed);
        int[] window = new int[S];
        int ctx = Math.min(prompt.length, S);
        System.arraycopy(prompt, prompt.length - ctx, window, 0, ctx);
        double[] p = new double[V];
        int[] input = new int[0];
        for (int i = 0; i < n; i++) {
            if (input.length != ctx) input = new int[ctx];
            System.arraycopy(window, 0, input, 0, ctx);
            model.forward(input, null, 1, ctx);
            int next = sample(model.logits(), (ctx - 1) * V, V, temperature, topK, rng, p);
            out.accept(next);
            if (ctx == S) System.arraycopy(window, 1, window, 0, S - 1);
            else ctx++;
            window[ctx - 1] = next;
        }
    }

    /**
     * Prints tokens as they come: a token is held back only while its text ends in an incomplete character
     * (a byte-level tokenizer splits multi-byte UTF-8), at most a few tokens.
     */
    static final class Printer {
        private static final int HOLD = 8;
        private final Tokenizer tok;
        private final PrintStream out;
        private final int[] pending = new int[HOLD];
        private int n;

        Printer(Tokenizer tok, PrintStream out) {
            this.tok = tok;
            this.out = out;
        }

        void add(int id) {
            pending[n++] = id;
            String s = tok.decode(Arrays.copyOf(pending, n));
            if (n < HOLD && s.endsWith("\uFFFD")) return; // maybe the start of a multi-byte character
            out.print(s);
            out.flush();
            n = 0;
        }

        void finish() {
            if (n > 0) out.print(tok.decode(Arrays.copyOf(pending, n)));
            out.println();
            out.flush();
            n = 0;
        }
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
