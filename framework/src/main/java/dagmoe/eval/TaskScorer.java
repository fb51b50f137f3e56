package dagmoe.eval;

import dagmoe.data.DataException;
import dagmoe.data.Tokenizer;
import dagmoe.model.Model;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores a {@link TaskFile} with a model, by the conventions of the common evaluation harnesses:
 * <ul>
 *   <li>multiple choice: the log-likelihood of each choice's tokens given the context, Σ_j log p(e_j | c, e_&lt;j);
 *       {@code acc}: the choice of highest log-likelihood is the label; {@code acc_norm}: the same with the
 *       log-likelihood divided by the choice's length in characters (ties: the first choice);</li>
 *   <li>cloze: greedy exact match, i.e. at every target position the arg-max token (ties: the lowest id) is
 *       the target's token; teacher forcing on the target gives the same verdict as decoding it greedily (from
 *       the same cut context), in one forward.</li>
 * </ul>
 * Context and continuation are tokenized separately and concatenated; when they exceed the model's window
 * ({@code seq_len + 1} tokens) the context is cut from the left. A continuation longer than {@code seq_len}
 * tokens cannot be scored: a {@link DataException} naming the line.
 */
public final class TaskScorer {
    private TaskScorer() {}

    /** Per example: 1 or 0 for acc and acc_norm (cloze: acc_norm null), in file order. */
    public record Scores(TaskFile.Kind kind, double[] acc, double[] accNorm) {}

    /** One continuation: Σ log p over its tokens (double), whether greedy decoding reproduces it, its token count. */
    public record Continuation(double logLikelihood, boolean greedy, int tokens) {}

    public static Scores score(Model model, Tokenizer tok, TaskFile task) {
        List<int[]> ctx = new ArrayList<>(), cont = new ArrayList<>();
        List<String> where = new ArrayList<>();
        for (TaskFile.Example e : task.examples()) {
            int[] c = tok.encode(e.context());
            for (int j = 0; j < e.choices().size(); j++) {
                ctx.add(c);
                cont.add(tok.encode(e.choices().get(j)));
                where.add(task.file() + ":" + e.line() + ": " + (task.kind() == TaskFile.Kind.CLOZE ? "target" : "choice " + j));
            }
        }
        List<Continuation> all = continuations(model, ctx, cont, where);
        int n = task.examples().size();
        double[] acc = new double[n], accNorm = task.kind() == TaskFile.Kind.CHOICE ? new double[n] : null;
        int k = 0;
        for (int i = 0; i < n; i++) {
            TaskFile.Example e = task.examples().get(i);
            if (task.kind() == TaskFile.Kind.CLOZE) {
                acc[i] = all.get(k++).greedy() ? 1 : 0;
                continue;
            }
            int best = -1, bestNorm = -1;
            double bestLl = 0, bestLlNorm = 0;
            for (int j = 0; j < e.choices().size(); j++) {
                double ll = all.get(k++).logLikelihood();
                String ch = e.choices().get(j);
                double norm = ll / ch.codePointCount(0, ch.length());
                if (best < 0 || ll > bestLl) { best = j; bestLl = ll; }
                if (bestNorm < 0 || norm > bestLlNorm) { bestNorm = j; bestLlNorm = norm; }
            }
            acc[i] = best == e.label() ? 1 : 0;
            accNorm[i] = bestNorm == e.label() ? 1 : 0;
        }
        return new Scores(task.kind(), acc, accNorm);
    }

    /** Scores each continuation {@code cont[i]} after {@code ctx[i]}; {@code where[i]} names it in errors. */
    public static List<Continuation> continuations(Model model, List<int[]> ctx, List<int[]> cont, List<String> where) {
        int S = model.config().seqLen(), V = model.config().vocabSize();
        int rowsPerBatch = (int) Math.max(1, Math.min(64, (1L << 24) / ((long) S * V))); // logits of a batch <= 64 MB
        List<Continuation> out = new ArrayList<>(cont.size());
        for (int from = 0; from < cont.size(); from += rowsPerBatch) {
            int rows = Math.min(rowsPerBatch, cont.size() - from);
            int[][] input = new int[rows][];
            int[] contStart = new int[rows];
            int seq = 1;
            for (int r = 0; r < rows; r++) {
                int[] c = ctx.get(from + r), e = cont.get(from + r);
                if (e.length == 0 || c.length == 0) throw new DataException(where.get(from + r) + ": encodes to no tokens");
                if (e.length > S) {
                    throw new DataException(where.get(from + r) + ": " + e.length + " tokens, longer than the model's window (seq_len "
                            + S + ")");
                }
                int keepCtx = Math.min(c.length, S + 1 - e.length);  // the context cut from the left
                int len = keepCtx + e.length - 1;                   // inputs: all but the last token
                int[] in = new int[len];
                System.arraycopy(c, c.length - keepCtx, in, 0, keepCtx);
                System.arraycopy(e, 0, in, keepCtx, e.length - 1);
                input[r] = in;
                contStart[r] = keepCtx - 1; // position whose logits predict e[0]
                seq = Math.max(seq, len);
            }
            int[] flat = new int[rows * seq]; // rows padded with id 0 at the end (causal: padding never reaches them)
            for (int r = 0; r < rows; r++) System.arraycopy(input[r], 0, flat, r * seq, input[r].length);
            model.forward(flat, null, rows, seq);
            float[] logits = model.logits();
            for (int r = 0; r < rows; r++) {
                int[] e = cont.get(from + r);
                double ll = 0;
                boolean greedy = true;
                for (int j = 0; j < e.length; j++) {
                    int base = (r * seq + contStart[r] + j) * V;
                    int arg = 0;
                    float max = logits[base];
                    for (int v = 1; v < V; v++) if (logits[base + v] > max) { max = logits[base + v]; arg = v; }
                    double sum = 0;
                    for (int v = 0; v < V; v++) sum += Math.exp((double) logits[base + v] - max);
                    ll += (double) logits[base + e[j]] - max - Math.log(sum);
                    greedy &= arg == e[j];
                }
                out.add(new Continuation(ll, greedy, e.length));
            }
        }
        return out;
    }
}
