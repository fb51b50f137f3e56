package dagmoe.train;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.backend.tornado.TornadoDevices;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.model.Aggregator;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.StepResult;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One run over two TornadoVM devices of this process ({@link DeviceGroup} with a tornado backend per device):
 * the reduced gradients of an uneven split against one java model on the whole batch, and a training run over
 * the two devices, reproducible bit for bit and close to java's. Needs two devices: with PoCL on a CPU,
 * {@code POCL_DEVICES="pthread pthread"} gives two; with fewer the test is skipped, saying so. Run it with Java
 * assertions off ({@code -DenableAssertions=false}): with -ea, TornadoVM 5.2.1's own assertion in
 * TornadoVMInterpreter.rewindBufferToBegin fails when the second device's backend builds its first plan.
 */
class TornadoDevicesTrainingTest {
    @TempDir Path tmp;
    static List<String> devices = new ArrayList<>();

    @BeforeAll
    static void find() {
        for (String line : TornadoDevices.list()) devices.add(line.substring(0, line.indexOf(' ')));
    }

    static void needTwo() {
        Assumptions.assumeTrue(devices.size() >= 2, "one TornadoVM device only (" + devices
                + "): for two on PoCL, run with POCL_DEVICES=\"pthread pthread\"");
    }

    /** With large auxiliary-loss coefficients: losses and reduced gradients of an uneven split are the whole batch's. */
    @Test
    void reducedGradientsOverTwoDevicesAreTheGlobalBatchs() {
        needTwo();
        ModelConfig cfg = dagmoe.model.StepCheck.config(Aggregator.DAG).toBuilder().set("router.balance_coef", 1.0)
                .set("router.z_loss_coef", 0.1).build();
        int B = 6, S = dagmoe.model.StepCheck.S;
        Model whole = new Model(cfg, Backends.create("java", 1), 5);
        List<Model> replicas = List.of(new Model(cfg, Backends.create("tornado", 1, devices.get(0)), 5),
                new Model(cfg, Backends.create("tornado", 1, devices.get(1)), 5));
        int[] in = DeviceGroupTest.tokens(B * S, 1), tg = DeviceGroupTest.tokens(B * S, 2);
        try (DeviceGroup g = new DeviceGroup(replicas, devices.subList(0, 2), new int[] {2, 4})) {
            g.broadcast();
            StepResult rw = whole.trainStep(in, tg, B, S);
            StepResult rg = g.step(in, tg, B, S);
            assertEquals(rw.loss(), rg.loss(), 1e-4 * Math.abs(rw.loss()));
            assertEquals(rw.balanceLoss(), rg.balanceLoss(), 1e-4 * rw.balanceLoss());
            assertEquals(rw.zLoss(), rg.zLoss(), 1e-4 * rw.zLoss());
            DeviceGroupTest.assertGradientsClose(whole, replicas.get(0), 1e-3);
            replicas.get(0).backend().close();
        }
    }

    List<Double> run(Path dir, String backend, List<String> devs) throws Exception {
        return run(dir, backend, devs, true);
    }

    /** {@code concurrent}: the devices at the same time (one host thread each), else one after the other. */
    List<Double> run(Path dir, String backend, List<String> devs, boolean concurrent) throws Exception {
        return run(dir, backend, devs, concurrent, TrainerTest.TINY, DeviceGroupTest.train4(), new double[] {1, 1});
    }

    List<Double> run(Path dir, String backend, List<String> devs, boolean concurrent, ModelConfig m, TrainConfig tc,
                     double[] weights) throws Exception {
        return run(dir, backend, devs, concurrent, m, tc, weights, 0);
    }

    /** {@code autoSteps} > 0: backend.device_weights = auto, measured over that many steps after the first. */
    List<Double> run(Path dir, String backend, List<String> devs, boolean concurrent, ModelConfig m, TrainConfig tc,
                     double[] weights, int autoSteps) throws Exception {
        Files.createDirectories(dir);
        List<Model> replicas = new ArrayList<>();
        for (String d : devs) replicas.add(new Model(m, Backends.create(backend, 1, d), tc.seed()));
        List<Batch> val = Batcher.evalBatches(TrainerTest.corpus(), 2, m.seqLen(), 2);
        BatchSource src = BatchSource.of(new Batcher(TrainerTest.corpus(), tc.batchSize(), m.seqLen(), tc.seed()));
        Trainer t = new Trainer(replicas.get(0), tc, new Trainer.Setup(dir, src, val, null, null, null, null));
        if (replicas.size() > 1) {
            try (DeviceGroup g = new DeviceGroup(replicas, devs, DeviceGroup.split(tc.batchSize(), weights))) {
                assertTrue(g.concurrent(), "tornado devices run at the same time by default");
                g.setConcurrent(concurrent);
                t.devices(g, autoSteps);
                assertTrue(t.run(0).finished());
            }
        } else {
            assertTrue(t.run(0).finished());
        }
        replicas.get(0).backend().close();
        return TrainerTest.losses(dir);
    }

    /**
     * Two devices train like one device on the whole batch, the balance loss (shared between the devices, coefficient
     * 0.1 so that it moves the routing) included: 20 steps within 1e-5 relative, for every aggregator, split unevenly
     * (1 and 3 rows), the devices at the same time.
     */
    @ParameterizedTest
    @EnumSource(Aggregator.class)
    void twoDevicesTrainLikeOneFor20Steps(Aggregator agg) throws Exception {
        needTwo();
        ModelConfig cfg = TrainerTest.TINY.toBuilder().set("aggregator", agg).set("router.balance_coef", 0.1).build();
        TrainConfig tc = DeviceGroupTest.train4(20);
        List<Double> one = run(tmp.resolve("one"), "tornado", devices.subList(0, 1), true, cfg, tc, null);
        List<Double> two = run(tmp.resolve("two"), "tornado", devices.subList(0, 2), true, cfg, tc, new double[] {1, 3});
        assertEquals(20, one.size());
        assertEquals(one.size(), two.size());
        for (int i = 0; i < one.size(); i++) {
            assertEquals(one.get(i), two.get(i), 1e-5 * Math.abs(one.get(i)), agg + " step " + (i + 1));
        }
    }

    @Test
    void aRunOverTwoDevicesIsReproducibleConcurrentOrNotAndTrainsLikeJava() throws Exception {
        needTwo();
        List<String> two = devices.subList(0, 2);
        List<Double> a = run(tmp.resolve("a"), "tornado", two, true), b = run(tmp.resolve("b"), "tornado", two, false);
        assertEquals(a, b, "same devices, weights and seed, at the same time or one after the other: the same losses bit for bit");
        List<Double> java = run(tmp.resolve("java"), "java", List.of(""));
        assertEquals(java.size(), a.size());
        assertEquals(java.get(0), a.get(0), 1e-4 * Math.abs(java.get(0)));
        for (int i = 0; i < a.size(); i++) assertEquals(java.get(i), a.get(i), 0.02, "step " + (i + 1));
    }

    /**
     * {@code auto} weights on two PoCL devices of different speed ({@code POCL_DEVICES="basic pthread"}: the basic
     * device runs a kernel's work-groups one after another on one thread, the pthread device spreads them over the
     * cores): after the first step and 3 measured ones, the pthread device gets more rows. Skipped without both.
     */
    @Test
    void autoWeightsGiveTheFasterPoclDeviceMoreRows() throws Exception {
        String basic = null, pthread = null;
        for (String line : TornadoDevices.list()) {
            String id = line.substring(0, line.indexOf(' '));
            if (line.contains("  basic-")) basic = id;
            else if (line.contains("  pthread-")) pthread = id;
        }
        Assumptions.assumeTrue(basic != null && pthread != null,
                "needs a PoCL basic and a pthread device: run with POCL_DEVICES=\"basic pthread\" (devices: " + devices + ")");
        // about bench-step's shapes (one layer): large enough that the kernels, not the host's launches, set the pace
        ModelConfig m = ModelConfig.builder().set("vocab_size", 32).set("d_model", 128).set("n_layers", 1).set("n_heads", 4)
                .set("seq_len", 64).set("n_experts", 4).set("top_k", 2).set("expert_hidden", 256).set("aggregator", Aggregator.DAG)
                .set("dag.rounds", 1).set("dag.width", 32).build();
        TrainConfig tc = DeviceGroupTest.train(6, 16);
        Path dir = tmp.resolve("auto");
        run(dir, "tornado", List.of(basic, pthread), true, m, tc, new double[] {1, 1}, 3);
        JsonNode dev = null;
        for (JsonNode l : MetricsWriter.read(dir)) if (l.path("kind").asText().equals("devices")) dev = l;
        assertNotNull(dev, "a devices line with the measured split");
        int slow = dev.get("rows").get(0).asInt(), fast = dev.get("rows").get(1).asInt();
        System.out.println("auto weights, PoCL basic " + basic + " and pthread " + pthread + ": " + dev);
        assertEquals(16, slow + fast);
        assertTrue(fast > slow, "rows moved to the pthread device: " + dev);
    }
}
