package dagmoe.eval;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.data.ByteTokenizer;
import dagmoe.data.DataException;
import dagmoe.model.Aggregator;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The batched scorer against a naive reference: one forward per continuation at its exact length (batch 1), the
 * log-softmax in double, and greedy decoding token by token (arg-max appended, compared with the target).
 */
class TaskScorerTest {
    @TempDir Path tmp;
    static final int S = 24;
    static final ByteTokenizer TOK = new ByteTokenizer();

    static Model model(Backend be) {
        ModelConfig c = ModelConfig.builder().set("vocab_size", 256).set("d_model", 16).set("n_heads", 2).set("n_layers", 2)
                .set("seq_len", S).set("n_experts", 4).set("top_k", 2).set("expert_hidden", 16).set("aggregator", Aggregator.DAG)
                .set("dag.rounds", 1).set("dag.width", 8).build();
        Model m = new Model(c, be, 5);
        SplittableRandom r = new SplittableRandom(9);
        for (Parameter p : m.parameters()) {
            float[] w = p.data();
            for (int i = 0; i < w.length; i++) w[i] = (float) (p.shape().length == 1 ? 1 + 0.1 * r.nextGaussian() : 0.4 * r.nextGaussian());
        }
        be.hostWrote(m.parameters().stream().map(Parameter::data).toArray());
        return m;
    }

    /** Reference log-likelihood of cont after ctx (context cut from the left to the window), one forward. */
    static double referenceLl(Model m, int[] ctx, int[] cont) {
        int keep = Math.min(ctx.length, S + 1 - cont.length);
        int[] seq = new int[keep + cont.length];
        System.arraycopy(ctx, ctx.length - keep, seq, 0, keep);
        System.arraycopy(cont, 0, seq, keep, cont.length);
        int[] in = Arrays.copyOf(seq, seq.length - 1);
        m.forward(in, null, 1, in.length);
        float[] lg = m.logits();
        int V = 256;
        double ll = 0;
        for (int j = 0; j < cont.length; j++) {
            int t = keep - 1 + j;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int v = 0; v < V; v++) max = Math.max(max, lg[t * V + v]);
            for (int v = 0; v < V; v++) sum += Math.exp(lg[t * V + v] - max);
            ll += lg[t * V + cont[j]] - max - Math.log(sum);
        }
        return ll;
    }

    /**
     * Reference greedy decoding of n tokens after ctx, the context cut from the left so that context and the n
     * tokens fit the window (seq_len + 1 tokens), as the harnesses score a continuation.
     */
    static int[] greedy(Model m, int[] ctx, int n) {
        List<Integer> seq = new ArrayList<>();
        for (int i = Math.max(0, ctx.length - (S + 1 - n)); i < ctx.length; i++) seq.add(ctx[i]);
        int[] out = new int[n];
        for (int j = 0; j < n; j++) {
            int[] in = seq.stream().mapToInt(Integer::intValue).toArray();
            m.forward(in, null, 1, in.length);
            float[] lg = m.logits();
            int base = (in.length - 1) * 256, arg = 0;
            for (int v = 1; v < 256; v++) if (lg[base + v] > lg[base + arg]) arg = v;
            out[j] = arg;
            seq.add(arg);
        }
        return out;
    }

    @Test
    void multipleChoiceMatchesTheNaiveReference() throws Exception {
        for (Backend be : new Backend[] {Backends.create("java", 1), Backends.create("cpu", 2)}) {
            Model m = model(be);
            SplittableRandom r = new SplittableRandom(3);
            StringBuilder lines = new StringBuilder();
            String[] words = {"whale", "sea", "ship", "the", "a", "white", "captain", "harpoon", "deep", "ocean and sky"};
            for (int i = 0; i < 40; i++) {
                StringBuilder ctx = new StringBuilder();
                int n = 1 + r.nextInt(i % 5 == 0 ? 12 : 4); // some contexts longer than the window
                for (int k = 0; k < n; k++) ctx.append(k == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
                lines.append("{\"context\": \"").append(ctx).append("\", \"choices\": [");
                for (int j = 0; j < 4; j++) lines.append(j == 0 ? "" : ", ").append("\" ").append(words[r.nextInt(words.length)]).append("\"");
                lines.append("], \"label\": ").append(r.nextInt(4)).append("}\n");
            }
            Path f = tmp.resolve("mc-" + be.name() + ".jsonl");
            Files.writeString(f, lines);
            TaskFile task = TaskFile.read(f);
            TaskScorer.Scores sc = TaskScorer.score(m, TOK, task);
            int accSum = 0, normSum = 0;
            for (int i = 0; i < task.examples().size(); i++) {
                TaskFile.Example e = task.examples().get(i);
                int[] ctx = TOK.encode(e.context());
                double[] ll = new double[4];
                int best = 0, bestNorm = 0;
                for (int j = 0; j < 4; j++) {
                    ll[j] = referenceLl(m, ctx, TOK.encode(e.choices().get(j)));
                    if (ll[j] > ll[best]) best = j;
                    if (ll[j] / e.choices().get(j).length() > ll[bestNorm] / e.choices().get(bestNorm).length()) bestNorm = j;
                }
                // the batched and the single-row forward agree to float rounding: decisions identical unless a near tie
                List<TaskScorer.Continuation> got = TaskScorer.continuations(m, List.of(ctx, ctx, ctx, ctx),
                        e.choices().stream().map(TOK::encode).toList(), List.of("a", "b", "c", "d"));
                for (int j = 0; j < 4; j++) assertEquals(ll[j], got.get(j).logLikelihood(), 1e-4 * Math.abs(ll[j]) + 1e-5, be.name() + " example " + i);
                assertEquals(best == e.label() ? 1.0 : 0.0, sc.acc()[i], be.name() + " acc of example " + i);
                assertEquals(bestNorm == e.label() ? 1.0 : 0.0, sc.accNorm()[i], be.name() + " acc_norm of example " + i);
                accSum += (int) sc.acc()[i];
                normSum += (int) sc.accNorm()[i];
            }
            assertTrue(accSum > 0 && accSum < 40 && normSum > 0 && normSum < 40, accSum + " " + normSum);
        }
    }

    @Test
    void clozeExactMatchIsGreedyDecoding() throws Exception {
        Backend be = Backends.create("java", 1);
        Model m = model(be);
        StringBuilder lines = new StringBuilder();
        String[] ctxs = {"the whale", "a ship on the deep sea", "captain", "harpoon and the white whale of the ocean far away"};
        List<Boolean> want = new ArrayList<>();
        for (String c : ctxs) {
            int[] g = greedy(m, TOK.encode(c), 3);
            // a target equal to the greedy continuation (when it is printable), and one that differs in its last token
            if (Arrays.stream(g).allMatch(t -> t >= 'a' && t <= 'z')) {
                lines.append("{\"context\": \"").append(c).append("\", \"target\": \"").append(TOK.decode(g)).append("\"}\n");
                want.add(true);
            }
            int[] wrong = g.clone();
            wrong[2] = wrong[2] == 'q' ? 'z' : 'q';
            lines.append("{\"context\": \"").append(c).append("\", \"target\": \"").append(TOK.decode(wrong).replaceAll("[^a-z]", "x")).append("\"}\n");
            want.add(false);
        }
        Path f = tmp.resolve("cloze.jsonl");
        Files.writeString(f, lines);
        TaskFile task = TaskFile.read(f);
        TaskScorer.Scores sc = TaskScorer.score(m, TOK, task);
        assertNull(sc.accNorm());
        for (int i = 0; i < want.size(); i++) {
            TaskFile.Example e = task.examples().get(i);
            int[] target = TOK.encode(e.choices().get(0));
            boolean ref = Arrays.equals(target, greedy(m, TOK.encode(e.context()), target.length));
            assertEquals(ref ? 1.0 : 0.0, sc.acc()[i], "example " + i + " " + e);
            if (want.get(i)) assertTrue(ref, "the model's own greedy continuation matches: " + e);
        }
        // token level: the model's own greedy continuation matches, one changed token does not
        for (String c : ctxs) {
            int[] ctx = TOK.encode(c);
            for (int n : new int[] {1, 3, 5}) {
                int[] g = greedy(m, ctx, n);
                int[] wrong = g.clone();
                wrong[n - 1] = (wrong[n - 1] + 1) % 256;
                List<TaskScorer.Continuation> got = TaskScorer.continuations(m, List.of(ctx, ctx), List.of(g, wrong), List.of("g", "w"));
                assertTrue(got.get(0).greedy(), c + " n=" + n);
                assertFalse(got.get(1).greedy(), c + " n=" + n);
            }
        }
    }

    @Test
    void aContinuationLongerThanTheWindowIsNamed() throws Exception {
        Model m = model(Backends.create("java", 1));
        Path f = tmp.resolve("long.jsonl");
        Files.writeString(f, "{\"context\": \"a\", \"choices\": [\" b\", \" " + "c".repeat(S) + "\"], \"label\": 0}\n");
        DataException e = assertThrows(DataException.class, () -> TaskScorer.score(m, TOK, TaskFile.read(f)));
        assertTrue(e.getMessage().contains(f + ":1: choice 1: 25 tokens, longer than the model's window (seq_len 24)"), e.getMessage());
    }
}
