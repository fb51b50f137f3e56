package dagmoe.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Without the cluster module on the class path (the default), --cluster and --data-parallel are bad input. */
class DistributedTest {
    @TempDir Path tmp;

    @Test
    void clusterOptionsWithoutTheClusterModuleExplainWhatIsMissing() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 4, """
                , "compare": {"seeds": 1, "variants": [{"name": "sum", "set": {"model.aggregator": "sum"}}]}""");
        StringBuilder err = new StringBuilder();
        assertEquals(2, TrainCommandTest.run(err, "compare", "--config", cfg.toString(), "--out", tmp.resolve("c").toString(),
                "--cluster", "local[2]"));
        assertTrue(err.toString().contains("the cluster module (experiments/cluster) is not on the class path"), err.toString());
        err.setLength(0);
        assertEquals(2, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", tmp.resolve("t").toString(),
                "--data-parallel", "2"));
        assertTrue(err.toString().contains("cluster module"), err.toString());
        assertFalse(Files.exists(tmp.resolve("t").resolve("config.json")), "nothing trained");
        assertFalse(Files.exists(tmp.resolve("c").resolve("sum")), "nothing trained");
    }
}
