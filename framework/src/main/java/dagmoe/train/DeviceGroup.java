package dagmoe.train;

import dagmoe.backend.Backend;
import dagmoe.model.Model;
import dagmoe.model.Parameter;
import dagmoe.model.SharedBalance;
import dagmoe.model.StepResult;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One training run over several devices of one process: every device holds a replica of the model (replica 0
 * is the trainer's model, the one the optimizer updates), each global batch is split into one micro-batch per
 * device by per-device weights, the replicas run forward and backward at the same time (one host thread each,
 * so devices with their own command queues work concurrently; one after the other where the backend says its
 * instances must not run at once, {@link Backend#concurrentInstances}), and their gradients are reduced into replica
 * 0 on the host in device order. The optimizer step then runs once, on replica 0's backend, and
 * {@link #broadcast} copies the updated weights to every other replica.
 *
 * <p>The reduction makes the result the global batch's: replica i trains on b_i of the B rows with its LM
 * cross-entropy gradient scaled by B / (b_i · counted targets of the global batch), and the reduced gradient
 * is Σ_i (b_i / B) · g_i, so the LM part is exactly the global batch's mean. The z-loss, a mean over tokens, is
 * the global batch's the same way; the load-balancing loss, a product of two batch means, is made the global
 * batch's by exchanging the replicas' routing statistics between their forwards and backwards ({@link SharedBalance}).
 * The sums run in a fixed order (device 0, 1, ...) per element, so the same devices, weights, seed and thread
 * counts give the same bits.
 */
public final class DeviceGroup implements AutoCloseable {
    /**
     * Per device and step: rows trained, seconds from the step's start to this device's start and to its end, seconds
     * of forward + backward (with the read of its routing statistics when they are shared), seconds of copying
     * gradients to the host.
     */
    public record DeviceTime(int rows, double startSeconds, double endSeconds, double computeSeconds, double transferSeconds) {}

    private final List<Model> replicas;
    private final List<String> names;
    private final ExecutorService pool;
    private final boolean mayRunConcurrently; // false: a backend whose instances must not run at the same time
    private boolean concurrent; // whether the devices run at the same time (else one after the other)
    private int[] rows;
    private final DeviceTime[] lastTimes;
    private double lastReduceSeconds, lastBroadcastSeconds;
    private int[][] localIn, localTg;

    /**
     * {@code replicas}: one model per device, the same config (replica 0 is trained); {@code names}: the devices
     * as the user named them (for messages and reports); {@code rows}: rows of the global batch per device
     * ({@link #split}).
     */
    public DeviceGroup(List<Model> replicas, List<String> names, int[] rows) {
        if (replicas.size() < 2) throw new IllegalArgumentException("a device group needs at least 2 devices");
        if (names.size() != replicas.size() || rows.length != replicas.size()) {
            throw new IllegalArgumentException(replicas.size() + " replicas, " + names.size() + " names, " + rows.length + " row counts");
        }
        int n = replicas.get(0).parameters().size();
        for (Model m : replicas) {
            if (m.parameters().size() != n || !m.config().equals(replicas.get(0).config())) {
                throw new IllegalArgumentException("every device's replica must have the same model config");
            }
        }
        this.replicas = List.copyOf(replicas);
        this.names = List.copyOf(names);
        // unprofiled, as the trainer runs a backend (and alike on every device: TornadoVM's profiler switch is process-wide)
        for (Model m : replicas) m.backend().setProfiling(false);
        this.pool = Executors.newFixedThreadPool(replicas.size(), r -> {
            Thread t = new Thread(r, "dagmoe-device");
            t.setDaemon(true);
            return t;
        });
        this.lastTimes = new DeviceTime[replicas.size()];
        this.mayRunConcurrently = replicas.stream().allMatch(m -> m.backend().concurrentInstances());
        this.concurrent = mayRunConcurrently;
        setRows(rows);
    }

    /**
     * Rows per device of a batch of {@code batch} rows, proportional to {@code weights} (largest remainder; ties
     * to the lower device index; every device gets at least one row). IllegalArgumentException naming
     * {@code backend.device_weights} for a weight that is not a positive finite number, or a batch smaller than
     * the number of devices.
     */
    public static int[] split(int batch, double[] weights) {
        int n = weights.length;
        if (batch < n) {
            throw new IllegalArgumentException("train.batch_size = " + batch + ": must be at least the number of devices (" + n + ")");
        }
        double total = 0;
        for (double w : weights) {
            if (!(w > 0) || !Double.isFinite(w)) {
                throw new IllegalArgumentException("backend.device_weights = " + Arrays.toString(weights) + ": every weight must be a positive number");
            }
            total += w;
        }
        int[] rows = new int[n];
        double[] rest = new double[n];
        int given = 0;
        for (int i = 0; i < n; i++) {
            double exact = 1 + (batch - n) * weights[i] / total; // one row each, the rest by weight
            rows[i] = (int) Math.floor(exact);
            rest[i] = exact - rows[i];
            given += rows[i];
        }
        while (given < batch) {
            int best = 0;
            for (int i = 1; i < n; i++) if (rest[i] > rest[best]) best = i;
            rows[best]++;
            rest[best] = -1;
            given++;
        }
        return rows;
    }

    public void setRows(int[] rows) {
        if (rows.length != replicas.size()) throw new IllegalArgumentException(rows.length + " row counts for " + replicas.size() + " devices");
        for (int r : rows) if (r < 1) throw new IllegalArgumentException("every device needs at least one row: " + Arrays.toString(rows));
        this.rows = rows.clone();
        this.localIn = null;
    }

    public int[] rows() { return rows.clone(); }

    /** Device {@code i}'s model (replica 0 is the one trained). */
    public Model replica(int i) { return replicas.get(i); }

    public List<String> names() { return names; }

    public int size() { return replicas.size(); }

    /** Whether the devices run at the same time (else one after the other). */
    public boolean concurrent() { return concurrent; }

    /**
     * Runs the devices at the same time ({@code true}, where every backend allows it) or one after the other in
     * device order on the caller's thread ({@code false}); the losses and gradients are the same bits either way.
     */
    public void setConcurrent(boolean on) {
        if (on && !mayRunConcurrently) throw new IllegalArgumentException("these devices' backends must not run at the same time");
        this.concurrent = on;
    }

    /** The last step's per-device times. */
    public List<DeviceTime> lastTimes() { return List.of(lastTimes); }

    /** Seconds of the last step's host reduction (gradients, and the routing statistics when shared) and of the last broadcast. */
    public double lastReduceSeconds() { return lastReduceSeconds; }

    public double lastBroadcastSeconds() { return lastBroadcastSeconds; }

    /**
     * Forward and backward of the global batch ({@code batch} × {@code seq}) over the devices; replica 0's
     * gradients hold the reduced result afterwards (on the host and marked as written for its backend). With a
     * balance loss ({@link SharedBalance#applies}) the devices run their forwards, exchange their routing statistics
     * on the host, then run their backwards, so the balance loss and its gradient are the whole batch's.
     */
    public StepResult step(int[] inputs, int[] targets, int batch, int seq) {
        int total = 0;
        for (int r : rows) total += r;
        if (total != batch) throw new IllegalArgumentException("the devices' rows " + Arrays.toString(rows) + " do not add up to the batch of " + batch);
        int n = replicas.size();
        if (localIn == null || localIn[0].length != rows[0] * seq) {
            localIn = new int[n][];
            localTg = new int[n][];
            for (int i = 0; i < n; i++) {
                localIn[i] = new int[rows[i] * seq];
                localTg[i] = new int[rows[i] * seq];
            }
        }
        int counted = 0;
        for (int t = 0; t < batch * seq; t++) if (targets[t] >= 0) counted++;
        float[] scale = new float[n];
        int off = 0;
        for (int i = 0; i < n; i++) {
            int len = rows[i] * seq;
            System.arraycopy(inputs, off, localIn[i], 0, len);
            System.arraycopy(targets, off, localTg[i], 0, len);
            off += len;
            scale[i] = counted > 0 ? (float) ((double) batch / ((double) rows[i] * counted)) : 0f;
        }
        boolean shared = SharedBalance.applies(replicas.get(0));
        StepResult[] res = new StepResult[n];
        SharedBalance.Stats[] stats = new SharedBalance.Stats[n];
        long[] begin = new long[n], computeNs = new long[n], transferNs = new long[n], endNs = new long[n];
        long start = System.nanoTime();
        onEveryDevice(dev -> {
            Model m = replicas.get(dev);
            long t0 = System.nanoTime();
            begin[dev] = t0;
            res[dev] = m.trainForward(localIn[dev], localTg[dev], rows[dev], seq);
            if (shared) {
                stats[dev] = SharedBalance.read(m);
                computeNs[dev] = System.nanoTime() - t0;
            } else {
                finishOn(dev, scale[dev], computeNs, transferNs, endNs);
            }
        });
        double balance = Double.NaN;
        long exchangeNs = 0;
        if (shared) {
            long t0 = System.nanoTime();
            balance = SharedBalance.share(replicas, Arrays.asList(stats));
            exchangeNs = System.nanoTime() - t0;
            onEveryDevice(dev -> finishOn(dev, scale[dev], computeNs, transferNs, endNs));
        }
        for (int i = 0; i < n; i++) {
            lastTimes[i] = new DeviceTime(rows[i], (begin[i] - start) / 1e9, (endNs[i] - start) / 1e9, computeNs[i] / 1e9, transferNs[i] / 1e9);
        }

        long t0 = System.nanoTime();
        List<Parameter> master = replicas.get(0).parameters();
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) ((double) rows[i] / batch);
        for (int k = 0; k < master.size(); k++) {
            float[] g0 = master.get(k).grad();
            int size = master.get(k).size();
            for (int j = 0; j < size; j++) g0[j] *= w[0];
            for (int i = 1; i < n; i++) {
                float[] gi = replicas.get(i).parameters().get(k).grad();
                float wi = w[i];
                for (int j = 0; j < size; j++) g0[j] += wi * gi[j];
            }
            replicas.get(0).backend().hostWrote(g0);
        }
        lastReduceSeconds = (System.nanoTime() - t0 + exchangeNs) / 1e9;
        return combine(res, w, balance);
    }

    /** Device {@code dev}'s backward, then its gradients to the host; adds to its compute and copy times. */
    private void finishOn(int dev, float scale, long[] computeNs, long[] transferNs, long[] endNs) {
        Model m = replicas.get(dev);
        long t0 = System.nanoTime();
        m.trainBackward(scale);
        long t1 = System.nanoTime();
        for (Parameter p : m.parameters()) m.backend().toHost(p.grad());
        endNs[dev] = System.nanoTime();
        computeNs[dev] += t1 - t0;
        transferNs[dev] += endNs[dev] - t1;
    }

    /** Runs {@code work} for every device (at the same time when {@link #concurrent}, else in device order on this thread) and waits for all. */
    private void onEveryDevice(java.util.function.IntConsumer work) {
        int n = replicas.size();
        List<Future<?>> running = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int dev = i;
            java.util.concurrent.FutureTask<Void> task = new java.util.concurrent.FutureTask<>(() -> work.accept(dev), null);
            if (concurrent) pool.execute(task);
            else task.run();
            running.add(task);
        }
        for (int i = 0; i < n; i++) await(running.get(i), i);
    }

    /**
     * The global batch's statistics from the devices' (LM loss over all counted targets; z-loss and gates by row
     * share; the balance loss {@code balance}, the whole batch's, or, when NaN, the devices' by row share).
     */
    static StepResult combine(StepResult[] res, float[] w, double balance) {
        double lossSum = 0, bal = 0, z = 0;
        int tokens = 0;
        int[][] load = new int[res[0].expertLoad().length][];
        float[][][] gates = new float[res[0].gateMeans().length][][];
        for (int b = 0; b < load.length; b++) load[b] = new int[res[0].expertLoad()[b].length];
        for (int b = 0; b < gates.length; b++) {
            gates[b] = new float[res[0].gateMeans()[b].length][];
            for (int r = 0; r < gates[b].length; r++) gates[b][r] = new float[res[0].gateMeans()[b][r].length];
        }
        for (int i = 0; i < res.length; i++) {
            StepResult r = res[i];
            if (r.tokens() > 0) lossSum += r.loss() * r.tokens();
            tokens += r.tokens();
            bal += w[i] * r.balanceLoss();
            z += w[i] * r.zLoss();
            for (int b = 0; b < load.length; b++) for (int e = 0; e < load[b].length; e++) load[b][e] += r.expertLoad()[b][e];
            for (int b = 0; b < gates.length; b++) {
                for (int k = 0; k < gates[b].length; k++) {
                    for (int e = 0; e < gates[b][k].length; e++) gates[b][k][e] += w[i] * r.gateMeans()[b][k][e];
                }
            }
        }
        double loss = tokens > 0 ? lossSum / tokens : Double.NaN;
        if (!Double.isNaN(balance)) bal = balance;
        return new StepResult(loss, bal, z, loss + bal + z, tokens, load, gates);
    }

    /** Copies replica 0's weights to every other device (after an optimizer step, a resume or a warm start). */
    public void broadcast() {
        long t0 = System.nanoTime();
        Model m0 = replicas.get(0);
        List<Parameter> master = m0.parameters();
        for (Parameter p : master) m0.backend().toHost(p.data());
        for (int i = 1; i < replicas.size(); i++) {
            Backend be = replicas.get(i).backend();
            List<Parameter> ps = replicas.get(i).parameters();
            for (int k = 0; k < master.size(); k++) {
                System.arraycopy(master.get(k).data(), 0, ps.get(k).data(), 0, master.get(k).size());
                be.hostWrote(ps.get(k).data());
            }
        }
        lastBroadcastSeconds = (System.nanoTime() - t0) / 1e9;
    }

    private void await(Future<?> f, int device) {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while device " + names.get(device) + " trained", e);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) throw re;
            if (c instanceof Error err) throw err;
            throw new IllegalStateException("device " + names.get(device) + ": " + c, c);
        }
    }

    /** Stops the device threads and closes the other replicas' backends (replica 0's belongs to the caller). */
    @Override
    public void close() {
        pool.shutdownNow();
        for (int i = 1; i < replicas.size(); i++) replicas.get(i).backend().close();
    }
}
