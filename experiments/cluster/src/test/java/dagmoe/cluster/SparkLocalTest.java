package dagmoe.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.train.Checkpoints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dagmoe.cluster.ClusterTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Sweeps and data-parallel training on Spark's local mode, against the same work done in one process. */
class SparkLocalTest {
    @TempDir Path tmp;

    @Test
    void clusterSweepWritesTheSameRunsAndTablesAsOneProcess() throws Exception {
        Path cfg = config(tmp, 12, 2, "");
        Path here = tmp.resolve("here"), there = tmp.resolve("there");
        assertEquals(0, run("compare", "--config", cfg.toString(), "--out", here.toString(), "--threads", "2"));
        // One run already half done (as a task killed after its checkpoint at step 5 leaves it): resumed, not redone.
        assertEquals(0, run("train", "--config", cfg.toString(), "--set", "model.aggregator=dag", "--threads", "2",
                "--until", "5", "--out", there.resolve("dag/s1").toString()));
        assertEquals(0, run("compare", "--config", cfg.toString(), "--out", there.toString(), "--cluster", "local[2]"));

        JsonNode a = json(here.resolve("comparison.json")), b = json(there.resolve("comparison.json"));
        assertEquals(2, b.get("variants").size());
        for (int v = 0; v < 2; v++) {
            assertEquals(a.get("variants").get(v).get("val_loss"), b.get("variants").get(v).get("val_loss"), "variant " + v);
            assertEquals(a.get("variants").get(v).get("params_total"), b.get("variants").get(v).get("params_total"));
        }
        for (String run : List.of("sum/s1", "dag/s1")) {
            // threads per task = the executor's cores (local[2]: 2), the same bits as one process with 2 threads
            assertEquals(2, json(there.resolve(run).resolve("config.json")).get("backend").get("threads").asInt());
            assertEquals(json(here.resolve(run).resolve("summary.json")).get("final_train_loss"),
                    json(there.resolve(run).resolve("summary.json")).get("final_train_loss"), run);
            assertSameBits(weights(here.resolve(run)), weights(there.resolve(run)));
        }
        assertTrue(Files.exists(there.resolve("plots/compare_val_loss.png")));
        assertTrue(Files.readString(there.resolve("comparison.md")).contains("| dag |"));

        // Started again: every run is finished, nothing is trained and no Spark job runs.
        long before = Files.getLastModifiedTime(there.resolve("sum/s1/summary.json")).toMillis();
        assertEquals(0, run("compare", "--config", cfg.toString(), "--out", there.toString(), "--cluster", "local[2]"));
        assertEquals(before, Files.getLastModifiedTime(there.resolve("sum/s1/summary.json")).toMillis());
    }

    @Test
    void dataParallelTwoReplicasEqualOneProcessWithTheSameGlobalBatch() throws Exception {
        // The balance loss is each replica's own (over its rows), so the equality is exact in the LM loss and the
        // z-loss; with router.balance_coef = 0 the whole objective is the global batch's.
        Path cfg = config(tmp, 20, 4, "");
        String[] common = {"--config", cfg.toString(), "--set", "model.router.balance_coef=0", "--threads", "1"};
        Path one = tmp.resolve("one"), dp = tmp.resolve("dp"), dpSpark = tmp.resolve("dp-spark"), resumed = tmp.resolve("dp-resumed");
        assertEquals(0, run(concat(common, "train", "--out", one.toString())));
        assertEquals(0, run(concat(common, "train", "--out", dp.toString(), "--data-parallel", "2")));

        List<double[]> l1 = losses(one), l2 = losses(dp);
        assertEquals(20, l1.size());
        assertEquals(20, l2.size());
        for (int s = 0; s < 20; s++) {
            for (int k = 0; k < 3; k++) {
                double x = l1.get(s)[k], y = l2.get(s)[k];
                assertTrue(Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(x), 1e-8), "step " + (s + 1) + " loss " + k + ": " + x + " vs " + y);
            }
        }
        double rel = maxRelDiff(weights(one), weights(dp));
        System.out.println("data-parallel 2 vs one process, 20 steps: max relative weight difference " + rel);
        assertTrue(rel <= 1e-5, "weights differ by " + rel);
        JsonNode rep = json(dp.resolve("data_parallel.json"));
        assertEquals(2, rep.get("replicas").asInt());
        assertEquals(20, rep.get("steps").asInt());
        assertTrue(rep.get("bytes_sent_per_replica_per_step").asDouble() > 4 * 1000, rep.toString());

        // Spark's messaging sums in the same rank order: the same bits as the ring (compared at the step-5 checkpoint:
        // a message through the driver costs most of a second per step).
        assertEquals(0, run(concat(common, "train", "--out", dpSpark.toString(), "--data-parallel", "2", "--allreduce", "spark",
                "--until", "5")));
        assertSameBits(Checkpoints.load(dp.resolve("checkpoints").resolve(Checkpoints.folderName(5))).model(), weights(dpSpark));

        // Stopped at step 10 and resumed: the same bits as the uninterrupted run.
        assertEquals(0, run(concat(common, "train", "--out", resumed.toString(), "--data-parallel", "2", "--until", "10")));
        assertEquals(0, run(concat(common, "train", "--out", resumed.toString(), "--data-parallel", "2", "--resume")));
        assertSameBits(weights(dp), weights(resumed));
        assertEquals(json(dp.resolve("summary.json")).get("val_loss"), json(resumed.resolve("summary.json")).get("val_loss"));

    }

    @Test
    void badDataParallelInputIsRefusedBeforeSparkStarts() throws Exception {
        Path cfg = config(tmp, 4, 3, "");
        assertEquals(2, run("train", "--config", cfg.toString(), "--out", tmp.resolve("x").toString(), "--data-parallel", "2"));
        assertEquals(2, run("train", "--config", cfg.toString(), "--out", tmp.resolve("y").toString(), "--data-parallel", "3",
                "--cluster", "local[2]"));
        assertEquals(2, run("train", "--config", cfg.toString(), "--out", tmp.resolve("z").toString(), "--data-parallel", "3",
                "--allreduce", "carrier-pigeon"));
        assertFalse(Files.exists(tmp.resolve("x")) || Files.exists(tmp.resolve("y")) || Files.exists(tmp.resolve("z")));
    }

    private static String[] concat(String[] common, String cmd, String... more) {
        String[] all = new String[1 + common.length + more.length];
        all[0] = cmd;
        System.arraycopy(common, 0, all, 1, common.length);
        System.arraycopy(more, 0, all, 1 + common.length, more.length);
        return all;
    }
}
