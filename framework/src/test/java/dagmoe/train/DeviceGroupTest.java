package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.model.Aggregator;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import dagmoe.model.StepCheck;
import dagmoe.model.StepResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Several devices in one process ({@link DeviceGroup}), with java and cpu backends standing in for TornadoVM
 * devices (the tornado tests run the same on two OpenCL devices): the reduced gradient is the global batch's
 * (against one model on the whole batch), the split follows the weights, and a run over the devices is
 * reproducible bit for bit and trains like one device.
 */
class DeviceGroupTest {
    @TempDir Path tmp;

    @Test
    void splitFollowsTheWeightsWithAtLeastOneRowEach() {
        assertArrayEquals(new int[] {4, 4}, DeviceGroup.split(8, new double[] {1, 1}));
        assertArrayEquals(new int[] {3, 5}, DeviceGroup.split(8, new double[] {1, 2}));  // 1 + 6/3, 1 + 12/3
        assertArrayEquals(new int[] {1, 1, 6}, DeviceGroup.split(8, new double[] {1e-6, 1e-6, 1}));
        assertArrayEquals(new int[] {4, 3, 3}, DeviceGroup.split(10, new double[] {1, 1, 1})); // ties: lower index
        int[] r = DeviceGroup.split(37, new double[] {0.3, 1.7, 5});
        assertEquals(37, r[0] + r[1] + r[2]);
        var e = assertThrows(IllegalArgumentException.class, () -> DeviceGroup.split(8, new double[] {1, 0}));
        assertTrue(e.getMessage().startsWith("backend.device_weights"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DeviceGroup.split(1, new double[] {1, 1}));
    }

    static ModelConfig noAux(Aggregator agg) {
        return StepCheck.config(agg).toBuilder().set("router.balance_coef", 0.0).set("router.z_loss_coef", 0.0).build();
    }

    static int[] tokens(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = r.nextInt(StepCheck.V);
        return t;
    }

    /** Gradients of the whole batch on one model against the reduced gradients of the group, split unevenly. */
    @ParameterizedTest
    @CsvSource({"DAG, 3, 5", "SUM, 4, 4", "DAG, 1, 7", "CHAIN, 2, 6"})
    void reducedGradientsAreTheGlobalBatchs(Aggregator agg, int rows0, int rows1) {
        ModelConfig cfg = noAux(agg);
        int B = rows0 + rows1, S = StepCheck.S;
        Backend ref = Backends.create("java", 1);
        Model whole = new Model(cfg, ref, 5);
        List<Model> replicas = List.of(new Model(cfg, ref, 5), new Model(cfg, Backends.create("java", 1), 99));
        int[] in = tokens(B * S, 1), tg = tokens(B * S, 2);
        tg[3] = -1; // an uncounted target: the LM mean is over counted targets of the whole batch
        try (DeviceGroup g = new DeviceGroup(replicas, List.of("a", "b"), new int[] {rows0, rows1})) {
            g.broadcast(); // replica 1 was initialised from another seed: it gets replica 0's weights
            StepResult rw = whole.trainStep(in, tg, B, S);
            StepResult rg = g.step(in, tg, B, S);
            assertEquals(rw.tokens(), rg.tokens());
            assertEquals(rw.loss(), rg.loss(), 1e-5 * Math.abs(rw.loss()));
            assertGradientsClose(whole, replicas.get(0), 2e-4);
            int[] loadW = rw.expertLoad()[0], loadG = rg.expertLoad()[0];
            assertArrayEquals(loadW, loadG, "expert load of the whole batch = the devices' sum");
        }
    }

    /**
     * Concurrent devices run at the same time and give the same bits as one after the other: two devices made slow
     * on purpose (each waits {@value #SLOW_MS_PER_ROW} ms per row) overlap when concurrent (device 1 starts before
     * device 0 ends) and do not when run in order, with identical losses and reduced gradients.
     */
    @Test
    void concurrentDevicesOverlapAndGiveTheSameBitsAsOneAfterTheOther() {
        ModelConfig cfg = noAux(Aggregator.DAG);
        int B = 4, S = StepCheck.S;
        int[] in = tokens(B * S, 1), tg = tokens(B * S, 2);
        float[][][] grads = new float[2][][];
        double[] loss = new double[2];
        for (int mode = 0; mode < 2; mode++) {
            boolean concurrent = mode == 0;
            List<Model> replicas = List.of(new Model(cfg, slowed(Backends.create("java", 1)), 5),
                    new Model(cfg, slowed(Backends.create("java", 1)), 5));
            try (DeviceGroup g = new DeviceGroup(replicas, List.of("a", "b"), new int[] {2, 2})) {
                assertTrue(g.concurrent(), "java backends may run at the same time");
                g.setConcurrent(concurrent);
                g.broadcast();
                loss[mode] = g.step(in, tg, B, S).loss();
                DeviceGroup.DeviceTime d0 = g.lastTimes().get(0), d1 = g.lastTimes().get(1);
                if (concurrent) {
                    assertTrue(d1.startSeconds() < d0.endSeconds(), "device 1 started before device 0 ended: " + g.lastTimes());
                } else {
                    assertTrue(d1.startSeconds() >= d0.endSeconds(), "device 1 started after device 0 ended: " + g.lastTimes());
                }
                List<Parameter> ps = replicas.get(0).parameters();
                grads[mode] = new float[ps.size()][];
                for (int k = 0; k < ps.size(); k++) grads[mode][k] = ps.get(k).grad().clone();
            }
        }
        assertEquals(loss[1], loss[0], 0.0);
        for (int k = 0; k < grads[0].length; k++) assertArrayEquals(grads[1][k], grads[0][k], "parameter " + k);
    }

    /** Every gradient of {@code got} within {@code rel} of its tensor's largest gradient in {@code want}. */
    static void assertGradientsClose(Model want, Model got, double rel) {
        List<Parameter> pw = want.parameters(), pg = got.parameters();
        for (int k = 0; k < pw.size(); k++) {
            float[] a = pw.get(k).grad(), b = pg.get(k).grad();
            double scale = 1e-6;
            for (float x : a) scale = Math.max(scale, Math.abs(x));
            for (int j = 0; j < a.length; j++) assertEquals(a[j], b[j], rel * scale, pw.get(k).name() + "[" + j + "]");
        }
    }

    /**
     * With the router's auxiliary losses on (coefficients large enough that they dominate the router's gradient), the
     * group's balance loss, z-loss and reduced gradients are the whole batch's: the devices exchange their routing
     * statistics between forward and backward. Without the exchange (each device's balance loss over its own rows,
     * weighted by rows) the balance loss and the router gradients differ from the whole batch's.
     */
    @ParameterizedTest
    @CsvSource({"DAG, 2, 6", "SUM, 4, 4", "CHAIN, 1, 7", "MLP_MIX, 3, 5"})
    void balanceLossAndGradientAreTheGlobalBatchs(Aggregator agg, int rows0, int rows1) {
        ModelConfig cfg = StepCheck.config(agg).toBuilder().set("router.balance_coef", 1.0).set("router.z_loss_coef", 0.1).build();
        int B = rows0 + rows1, S = StepCheck.S;
        Backend ref = Backends.create("java", 1);
        int[] in = tokens(B * S, 3), tg = tokens(B * S, 4);
        Model whole = new Model(cfg, ref, 5);
        StepResult rw = whole.trainStep(in, tg, B, S);
        try (DeviceGroup g = new DeviceGroup(List.of(new Model(cfg, ref, 5), new Model(cfg, ref, 5)), List.of("a", "b"), new int[] {rows0, rows1})) {
            StepResult rg = g.step(in, tg, B, S);
            assertEquals(rw.balanceLoss(), rg.balanceLoss(), 1e-6 * rw.balanceLoss());
            assertEquals(rw.zLoss(), rg.zLoss(), 1e-6 * rw.zLoss());
            assertEquals(rw.totalLoss(), rg.totalLoss(), 1e-6 * rw.totalLoss());
            assertGradientsClose(whole, g.replica(0), 2e-4);
        }
        // the devices' own balance losses, weighted by rows, are not the whole batch's
        Model a = new Model(cfg, ref, 5), b = new Model(cfg, ref, 5);
        StepResult r0 = a.forward(Arrays.copyOfRange(in, 0, rows0 * S), Arrays.copyOfRange(tg, 0, rows0 * S), rows0, S);
        StepResult r1 = b.forward(Arrays.copyOfRange(in, rows0 * S, B * S), Arrays.copyOfRange(tg, rows0 * S, B * S), rows1, S);
        double weighted = (rows0 * r0.balanceLoss() + rows1 * r1.balanceLoss()) / B;
        assertTrue(Math.abs(weighted - rw.balanceLoss()) > 1e-4 * rw.balanceLoss(),
                "the test's batch must tell the shared balance loss from the row-weighted one: " + weighted + " vs " + rw.balanceLoss());
    }

    static final ModelConfig TINY = TrainerTest.TINY;

    /** TrainerTest's training config with batches of 4 rows, 10 steps. */
    static TrainConfig train4() {
        return train4(10);
    }

    static TrainConfig train4(int steps) {
        return train(steps, 4);
    }

    /** train4() with {@code batch} rows per batch. */
    static TrainConfig train(int steps, int batch) {
        return TrainConfig.builder().set("steps", steps).set("batch_size", batch).set("lr", 3e-3).set("min_lr", 3e-4)
                .set("warmup_steps", 2).set("seed", 3).set("eval_every", 5).set("eval_batches", 2)
                .set("checkpoint_every", 5).set("keep_checkpoints", 0).set("log_every", 1).set("loss_on", "all").build();
    }

    List<Double> trainOverDevices(Path run, int[] rows, int autoSteps) throws Exception {
        String[] backends = new String[rows.length];
        Arrays.fill(backends, "cpu");
        return trainOverDevices(run, rows, autoSteps, backends);
    }

    /** Trains train4() over one replica per entry of {@code backends} (each with one thread), rows per replica as given. */
    List<Double> trainOverDevices(Path run, int[] rows, int autoSteps, String[] backends) throws Exception {
        return trainOverDevices(run, rows, autoSteps, backends, TINY, train4());
    }

    List<Double> trainOverDevices(Path run, int[] rows, int autoSteps, String[] backends, ModelConfig cfg, TrainConfig tc)
            throws Exception {
        Files.createDirectories(run);
        List<Model> replicas = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            Backend be = backends[i].equals("slow") ? slowed(Backends.create("cpu", 1)) : Backends.create(backends[i], 1);
            replicas.add(new Model(cfg, be, tc.seed()));
        }
        List<Batch> val = Batcher.evalBatches(TrainerTest.corpus(), 2, TINY.seqLen(), 2);
        BatchSource src = BatchSource.of(new Batcher(TrainerTest.corpus(), tc.batchSize(), cfg.seqLen(), tc.seed()));
        Trainer t = new Trainer(replicas.get(0), tc, new Trainer.Setup(run, src, val, null, null, null, null));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) names.add(backends[i] + i);
        try (DeviceGroup g = new DeviceGroup(replicas, names, rows)) {
            t.devices(g, autoSteps);
            assertTrue(t.run(0).finished());
        }
        return TrainerTest.losses(run);
    }

    @Test
    void aRunOverDevicesIsReproducibleAndTrainsLikeOneDevice() throws Exception {
        List<Double> a = trainOverDevices(tmp.resolve("a"), new int[] {1, 3}, 0);
        List<Double> b = trainOverDevices(tmp.resolve("b"), new int[] {1, 3}, 0);
        assertEquals(a, b, "same devices, weights and seed: the same losses bit for bit");

        List<Double> single = trainOnOneDevice(tmp.resolve("one"), TINY, train4());
        assertEquals(single.size(), a.size());
        // the same computation but for float summation order
        for (int i = 0; i < a.size(); i++) assertEquals(single.get(i), a.get(i), 1e-5 * single.get(i), "step " + (i + 1));
    }

    /** {@code tc} on one cpu model over the whole batch; the losses of its train lines. */
    static List<Double> trainOnOneDevice(Path run, ModelConfig cfg, TrainConfig tc) throws Exception {
        Files.createDirectories(run);
        Model m = new Model(cfg, Backends.create("cpu", 1), tc.seed());
        BatchSource src = BatchSource.of(new Batcher(TrainerTest.corpus(), tc.batchSize(), cfg.seqLen(), tc.seed()));
        new Trainer(m, tc, new Trainer.Setup(run, src, Batcher.evalBatches(TrainerTest.corpus(), 2, cfg.seqLen(), 2),
                null, null, null, null)).run(0);
        return TrainerTest.losses(run);
    }

    /**
     * Two devices train like one, the router's auxiliary losses included (the balance loss shared between them, with a
     * coefficient of 0.1 so that it moves the routing): 20 steps within 1e-5 relative, for every aggregator, split unevenly.
     */
    @ParameterizedTest
    @EnumSource(Aggregator.class)
    void twoDevicesTrainLikeOneFor20Steps(Aggregator agg) throws Exception {
        ModelConfig cfg = TINY.toBuilder().set("aggregator", agg).set("router.balance_coef", 0.1).build();
        TrainConfig tc = train4(20);
        List<Double> one = trainOnOneDevice(tmp.resolve("one"), cfg, tc);
        List<Double> two = trainOverDevices(tmp.resolve("two"), new int[] {1, 3}, 0, new String[] {"cpu", "cpu"}, cfg, tc);
        assertEquals(20, one.size());
        assertEquals(one.size(), two.size());
        for (int i = 0; i < one.size(); i++) {
            assertEquals(one.get(i), two.get(i), 1e-5 * Math.abs(one.get(i)), agg + " step " + (i + 1));
        }
    }

    @Test
    void autoWeightsSetTheSplitFromMeasuredStepsAndLogIt() throws Exception {
        Path run = tmp.resolve("auto");
        trainOverDevices(run, new int[] {2, 2}, 2);
        List<JsonNode> dev = new ArrayList<>();
        for (JsonNode l : MetricsWriter.read(run)) if (l.path("kind").asText().equals("devices")) dev.add(l);
        assertEquals(1, dev.size(), "one split chosen, after the first step and 2 measured ones");
        assertEquals(3, dev.get(0).get("step").asInt());
        assertEquals(4, dev.get(0).get("rows").get(0).asInt() + dev.get(0).get("rows").get(1).asInt());
    }

    /** Milliseconds a {@link #slowed} backend waits per sequence of an embedding lookup (once per forward pass). */
    static final int SLOW_MS_PER_ROW = 100;

    /**
     * A device made slower on purpose: the same backend, waiting {@value #SLOW_MS_PER_ROW} ms per batch row before each
     * embedding lookup, so its step time grows with its share of the batch as a slower device's does.
     */
    static Backend slowed(Backend be) {
        return (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("embeddingForward")) {
                        int tokens = (Integer) args[3];
                        Thread.sleep((long) SLOW_MS_PER_ROW * Math.max(1, tokens / TINY.seqLen()));
                    }
                    try {
                        return m.invoke(be, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @Test
    void autoWeightsMoveRowsAwayFromASlowerDevice() throws Exception {
        // device 1 waits SLOW_MS_PER_ROW per row, several times a tiny model's step on device 0: the measured split must
        // give device 0 more rows (and still one to device 1). The even run first also compiles the host code (a
        // cold JIT would make device 0's first steps slow too).
        List<Double> even = trainOverDevices(tmp.resolve("even"), new int[] {2, 2}, 0);
        Path run = tmp.resolve("slow");
        List<Double> losses = trainOverDevices(run, new int[] {2, 2}, 2, new String[] {"cpu", "slow"});
        assertEquals(even.get(0), losses.get(0), 1e-6, "the first step (before the split moves) is the even split's");
        JsonNode dev = null;
        for (JsonNode l : MetricsWriter.read(run)) if (l.path("kind").asText().equals("devices")) dev = l;
        assertNotNull(dev, "a devices line with the measured split");
        int fast = dev.get("rows").get(0).asInt(), slow = dev.get("rows").get(1).asInt();
        assertEquals(4, fast + slow);
        assertTrue(fast > slow, "rows moved to the faster device: " + dev);
        assertTrue(slow >= 1, "every device keeps at least one row: " + dev);
    }
}
