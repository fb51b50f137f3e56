package dagmoe.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Both ceilings are measured (numpy where /usr/bin/python3 has it) and the MFU line states both ratios. */
class MatmulCeilingTest {
    @Test
    void measuresCpuAndOpenBlasAndPrintsBothRatios() {
        MatmulCeiling.Ceilings c = MatmulCeiling.measure(1);
        assertTrue(c.cpuGflops() > 0, c.toString());
        boolean numpy = Files.isExecutable(Path.of("/usr/bin/python3")) && !c.numpyNote().contains("No module named");
        if (numpy) assertTrue(c.numpyGflops() > 0 && c.numpyNote().contains("OpenBLAS core"), c.toString());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        // a step of 2 GFLOP in 0.5 s = 4 GFLOP/s of model FLOPs
        c.printMfu(new PrintStream(bytes, true, StandardCharsets.UTF_8), "step", 2e9, 0.5);
        String line = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(line.contains("4.00 GFLOP/s of model FLOPs"), line);
        assertTrue(line.contains(String.format(java.util.Locale.ROOT, "%.1f%% of the cpu 1024³", 400 / c.cpuGflops())), line);
        if (numpy) assertTrue(line.contains(String.format(java.util.Locale.ROOT, "%.1f%% of OpenBLAS's 1024³", 400 / c.numpyGflops())), line);
    }
}
