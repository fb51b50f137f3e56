package dagmoe.model;

import dagmoe.backend.Backend;

import java.util.List;

/**
 * The load-balancing loss of one batch split over several replicas of a model (devices), made the whole batch's.
 * The Switch balance loss of a router call over T tokens is alpha · N · Σ_e f_e · P_e, with f_e = (slots routed to
 * e) / (T · K) and P_e = mean over the tokens of p[t,e]: a product of two batch means, so the replicas' own losses
 * over their rows, weighted by rows, are not the whole batch's. Between the replicas' forwards and backwards
 * ({@link Model#trainForward}, {@link Model#trainBackward}) each replica's counts and probability sums are
 * {@link #read}; {@link #share} adds them up into the whole batch's f_e and P_e, returns the whole batch's loss, and
 * gives every replica's routers the whole batch's balance gradient for their next backward. f_e counts as a
 * constant, as in Switch: the gradient at replica i's token t is dL/dp[t,e] = alpha · N · f_e / T, which replica i
 * computes divided by its share of the batch (T_i / T), as it does its LM gradient, since a device group adds the
 * replicas' gradients weighted by their shares. The z-loss is a mean over tokens and needs no exchange.
 */
public final class SharedBalance {
    private SharedBalance() {}

    /**
     * A replica's routing statistics of its last forward, per router call (MoE blocks in order, a chain's rounds in
     * order): slots routed to each expert, and each expert's router probability summed over the replica's tokens.
     */
    public record Stats(int tokens, int[][] counts, double[][] probSums) {}

    /** Whether {@code m}'s training has a balance loss to share (a router and a positive router.balance_coef). */
    public static boolean applies(Model m) {
        return m.config().balanceCoef() > 0 && !m.routerCalls().isEmpty();
    }

    /** {@code m}'s statistics of its last forward (read from its backend: the dispatch's counts and the probabilities). */
    public static Stats read(Model m) {
        int T = m.lastTokens(), N = m.config().nExperts();
        if (T <= 0) throw new IllegalStateException("no forward has run yet");
        List<Router.Call> calls = m.routerCalls();
        int[][] counts = new int[calls.size()][];
        double[][] sums = new double[calls.size()][N];
        for (int c = 0; c < calls.size(); c++) {
            Router.Call call = calls.get(c);
            float[] probs = call.acts().probs;
            m.backend().toHost(probs, call.counts());
            counts[c] = java.util.Arrays.copyOf(call.counts(), N);
            for (int t = 0; t < T; t++) {
                for (int e = 0; e < N; e++) sums[c][e] += probs[t * N + e];
            }
        }
        return new Stats(T, counts, sums);
    }

    /**
     * Makes the next backward of every replica ({@code stats.get(i)} read from {@code replicas.get(i)} since its last
     * forward) use the whole batch's balance gradient; returns the whole batch's balance loss, summed over the
     * router calls, coefficient applied. The sums run over the replicas in order: the same statistics give the same bits.
     */
    public static double share(List<Model> replicas, List<Stats> stats) {
        if (replicas.size() != stats.size()) throw new IllegalArgumentException(replicas.size() + " replicas, " + stats.size() + " statistics");
        ModelConfig cfg = replicas.get(0).config();
        int N = cfg.nExperts(), K = cfg.topK(), calls = stats.get(0).counts().length;
        double alphaN = cfg.balanceCoef() * N;
        long T = 0;
        for (Stats s : stats) {
            if (s.counts().length != calls) throw new IllegalArgumentException("every replica's statistics must cover the same router calls");
            T += s.tokens();
        }
        List<List<Router.Call>> replicaCalls = new java.util.ArrayList<>();
        for (Model r : replicas) replicaCalls.add(r.routerCalls());
        double loss = 0;
        for (int c = 0; c < calls; c++) {
            long[] slots = new long[N];
            double[] probs = new double[N];
            for (Stats s : stats) {
                for (int e = 0; e < N; e++) {
                    slots[e] += s.counts()[c][e];
                    probs[e] += s.probSums()[c][e];
                }
            }
            for (int e = 0; e < N; e++) loss += alphaN * ((double) slots[e] / ((double) T * K)) * (probs[e] / T);
            for (int i = 0; i < replicas.size(); i++) {
                Router.Acts a = replicaCalls.get(i).get(c).acts();
                Backend be = replicas.get(i).backend();
                a.balanceCoef = Ops.grow(a.balanceCoef, N);
                double perToken = alphaN / ((double) T * K * stats.get(i).tokens());
                for (int e = 0; e < N; e++) a.balanceCoef[e] = (float) (perToken * slots[e]);
                a.balanceGiven = true;
                be.hostWrote(a.balanceCoef);
            }
        }
        return loss;
    }
}
