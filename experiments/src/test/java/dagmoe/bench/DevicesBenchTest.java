package dagmoe.bench;

import dagmoe.model.Aggregator;
import dagmoe.model.ModelConfig;
import dagmoe.train.TrainConfig;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The multi-device step bench on two cpu backends standing in for devices (its tornado use is the same code). */
class DevicesBenchTest {
    @Test
    void reportsEveryDevicesShareTimesAndTheStepAgainstEachAlone() {
        ModelConfig m = ModelConfig.builder().set("vocab_size", 32).set("d_model", 16).set("n_layers", 1).set("n_heads", 2)
                .set("seq_len", 8).set("n_experts", 4).set("top_k", 2).set("expert_hidden", 16).set("aggregator", Aggregator.DAG)
                .set("dag.rounds", 1).set("dag.width", 8).build();
        TrainConfig tc = TrainConfig.builder().set("batch_size", 5).set("seed", 1).build();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DevicesBench.Result r = DevicesBench.run("cpu", 1, List.of("a", "b"), new double[] {1, 4}, m, tc,
                StepBench.Batches.synthetic(1, 5, 8, 32), 0, 3, new PrintStream(buf, true, StandardCharsets.UTF_8));
        assertEquals(2, r.devices().size());
        assertEquals(1 + 1, r.devices().get(0).rows(), "1 + 3·1/5 rounds to 2 rows; the rest to b");
        assertEquals(5, r.devices().get(0).rows() + r.devices().get(1).rows());
        for (DevicesBench.DeviceRow d : r.devices()) {
            assertTrue(d.computeMs() > 0 && d.aloneMs() > 0 && d.idleMs() >= 0, d.toString());
        }
        assertTrue(r.stepMs() >= r.devices().get(1).computeMs());
        assertTrue(r.concurrent() && r.sequentialStepMs() > 0, "cpu devices run at once, and are timed one after the other too: " + r);
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("| a | 2 | 40% |") && text.contains("| b | 3 | 60% |") && text.contains("group:")
                && text.contains("one after the other:"), text);
    }
}
