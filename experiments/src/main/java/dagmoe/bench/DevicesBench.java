package dagmoe.bench;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.stats.Quantiles;
import dagmoe.train.DeviceGroup;
import dagmoe.train.TrainConfig;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench --config F --backends tornado --devices B:D,B:D,...}: the training step's forward and backward
 * over several devices of one process ({@link DeviceGroup}) against each device alone on the whole batch. Per
 * device: its rows, its forward + backward time (kernels, launches and the host work that drives them), the
 * copy of its gradients to the host, and its idle time (waiting for the slowest device); then the host
 * reduction and the weight broadcast, and the group's step against each device alone; then, from two more group
 * steps under the device profiler (tornado), each device's kernel and copy time. Where the devices run at
 * the same time, the same steps are timed once more one after the other, so the gain of running them together is
 * measured, not assumed. Medians over the timed steps, after one untimed step (compilation) and the warm-up.
 */
public final class DevicesBench {
    private DevicesBench() {}

    /**
     * One device's medians in the group, in ms; {@code kernelMs} and {@code deviceTransferMs}: its kernels' and its
     * host-device copies' time per step from the device profiler (tornado; NaN for backends without one), measured in
     * extra group steps under the profiler (it waits for every event it times, so those steps are not the timed ones).
     */
    public record DeviceRow(String device, int rows, double computeMs, double transferMs, double idleMs, double aloneMs,
                            double kernelMs, double deviceTransferMs) {}

    /**
     * The group's medians: per device, the step (forward + backward + reduce), reduce and broadcast, in ms;
     * {@code sequentialStepMs}: the step with the devices one after the other (NaN where they never run at once).
     */
    public record Result(List<DeviceRow> devices, double stepMs, double reduceMs, double broadcastMs, boolean concurrent,
                         double sequentialStepMs) {}

    public static Result run(String backend, int threads, List<String> devices, double[] weights, ModelConfig cfg,
                             TrainConfig tc, StepBench.Batches batches, int warmup, int reps, PrintStream out) {
        int B = tc.batchSize(), S = cfg.seqLen();
        int[] in = new int[B * S], tg = new int[B * S];
        List<Model> replicas = new ArrayList<>();
        double[] alone = new double[devices.size()];
        for (int i = 0; i < devices.size(); i++) {
            Backend be = Backends.create(backend, threads, devices.get(i));
            be.setProfiling(false); // as in the group (and in training)
            Model m = new Model(cfg, be, tc.seed());
            double[] ms = new double[reps];
            for (int s = 0; s < 1 + warmup + reps; s++) {
                batches.fill(s, in, tg);
                long t0 = System.nanoTime();
                m.trainStep(in, tg, B, S);
                if (s > warmup) ms[s - warmup - 1] = (System.nanoTime() - t0) / 1e6;
            }
            alone[i] = Quantiles.median(ms);
            replicas.add(m);
        }
        int n = devices.size();
        double[][] compute = new double[n][reps], transfer = new double[n][reps], idle = new double[n][reps];
        double[] step = new double[reps], reduce = new double[reps], broadcast = new double[reps];
        double[] sequential = new double[reps], kernel = new double[n], copies = new double[n];
        int[] rows;
        boolean concurrent;
        try (DeviceGroup g = new DeviceGroup(replicas, devices, DeviceGroup.split(B, weights))) {
            rows = g.rows();
            concurrent = g.concurrent();
            g.broadcast();
            for (int s = 0; s < 1 + warmup + reps; s++) {
                batches.fill(s, in, tg);
                long t0 = System.nanoTime();
                g.step(in, tg, B, S);
                double wall = (System.nanoTime() - t0) / 1e6;
                g.broadcast();
                if (s <= warmup) continue;
                int r = s - warmup - 1;
                step[r] = wall;
                reduce[r] = g.lastReduceSeconds() * 1e3;
                broadcast[r] = g.lastBroadcastSeconds() * 1e3;
                for (int i = 0; i < n; i++) {
                    DeviceGroup.DeviceTime t = g.lastTimes().get(i);
                    compute[i][r] = t.computeSeconds() * 1e3;
                    transfer[i][r] = t.transferSeconds() * 1e3;
                    idle[i][r] = Math.max(0, wall - reduce[r] - compute[i][r] - transfer[i][r]);
                }
            }
            // the device profiler's split: a few more group steps under it (TornadoVM's switch is process-wide: all alike)
            for (Model m : replicas) {
                m.backend().setProfiling(true);
                TornadoSplit.reset(m.backend());
            }
            int profiled = Math.min(2, reps);
            for (int s = 0; s < profiled; s++) {
                batches.fill(1 + warmup + s, in, tg);
                g.step(in, tg, B, S);
                g.broadcast();
            }
            for (int i = 0; i < n; i++) {
                Backend be = replicas.get(i).backend();
                Map<String, Double> t = TornadoSplit.totals(be);
                kernel[i] = t == null ? Double.NaN : t.get("kernel_ms") / profiled;
                copies[i] = t == null ? Double.NaN : (t.get("h2d_ms") + t.get("d2h_ms")) / profiled;
                be.setProfiling(false);
            }
            if (concurrent) {
                g.setConcurrent(false);
                for (int s = 0; s < reps; s++) {
                    batches.fill(1 + warmup + s, in, tg);
                    long t0 = System.nanoTime();
                    g.step(in, tg, B, S);
                    sequential[s] = (System.nanoTime() - t0) / 1e6;
                    g.broadcast();
                }
            }
            replicas.get(0).backend().close();
        }
        List<DeviceRow> rs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            rs.add(new DeviceRow(devices.get(i), rows[i], Quantiles.median(compute[i]), Quantiles.median(transfer[i]),
                    Quantiles.median(idle[i]), alone[i], kernel[i], copies[i]));
        }
        Result res = new Result(rs, Quantiles.median(step), Quantiles.median(reduce), Quantiles.median(broadcast), concurrent,
                concurrent ? Quantiles.median(sequential) : Double.NaN);
        print(res, B, out);
        return res;
    }

    private static String ms(double v) {
        return Double.isNaN(v) ? "—" : String.format(Locale.ROOT, "%.1f", v);
    }

    /** The table {@link #run} prints, as lines (for bench.md). */
    public static List<String> lines(Result r, int batch) {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        print(r, batch, new PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
        List<String> out = new ArrayList<>();
        out.add("");
        out.addAll(List.of(buf.toString(java.nio.charset.StandardCharsets.UTF_8).split("\\R")));
        return out;
    }

    static void print(Result r, int batch, PrintStream out) {
        out.println(String.format(Locale.ROOT, "## training step over %d devices (forward + backward of a batch of %d rows; medians)",
                r.devices().size(), batch));
        if (!r.concurrent()) out.println("(the devices run one after the other: this backend's instances must not run at once, see Backend.concurrentInstances)");
        out.println("| device | rows | share | forward+backward ms | gradients to host ms | idle ms | alone, whole batch, ms"
                + " | kernels ms (profiled) | device copies ms (profiled) |");
        out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for (DeviceRow d : r.devices()) {
            out.println(String.format(Locale.ROOT, "| %s | %d | %.0f%% | %.1f | %.1f | %.1f | %.1f | %s | %s |", d.device(), d.rows(),
                    100.0 * d.rows() / batch, d.computeMs(), d.transferMs(), d.idleMs(), d.aloneMs(), ms(d.kernelMs()),
                    ms(d.deviceTransferMs())));
        }
        double best = Double.MAX_VALUE;
        for (DeviceRow d : r.devices()) best = Math.min(best, d.aloneMs());
        out.println(String.format(Locale.ROOT, "group: %.1f ms per step (host reduction %.1f ms included), weight broadcast %.1f ms;"
                + " %.2fx the fastest device alone (%.1f ms)", r.stepMs(), r.reduceMs(), r.broadcastMs(), best / (r.stepMs() + r.broadcastMs()), best));
        if (r.concurrent()) {
            out.println(String.format(Locale.ROOT, "the devices at the same time: %.1f ms per step; one after the other: %.1f ms (%.2fx)",
                    r.stepMs(), r.sequentialStepMs(), r.sequentialStepMs() / r.stepMs()));
        }
        out.println();
    }
}
