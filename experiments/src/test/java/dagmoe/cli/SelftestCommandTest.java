package dagmoe.cli;

import static dagmoe.cli.CliTestSupport.run;
import dagmoe.cli.CliTestSupport.Result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import dagmoe.backend.Backend;
import dagmoe.backend.JavaBackend;
import dagmoe.backend.OpCases;
import dagmoe.model.Aggregator;

/** {@code dagmoe selftest}: the table and exit codes (0 all agree, 1 naming the wrong op, 2 a backend that cannot start). */
class SelftestCommandTest {

    @Test
    void cpuPassesWithARowPerOperationAndAggregator() {
        Result r = run("selftest", "--backend", "cpu", "--threads", "2");
        assertEquals(0, r.code(), r.out() + r.err());
        for (OpCases.Case c : OpCases.cases()) assertTrue(r.out().contains(c.op() + " "), c.op() + " missing:\n" + r.out());
        for (Aggregator a : Aggregator.values()) assertTrue(r.out().contains("step " + a.key() + " gradients"), a.key() + "\n" + r.out());
        assertTrue(r.out().contains("5e-6·max|java|") && r.out().contains("all agree with java"), r.out());
        assertTrue(!r.out().contains("FAIL"), r.out());
    }

    @Test
    void aWrongOperationExitsOneNamingIt() {
        Backend broken = new JavaBackend() {
            @Override
            public String name() {
                return "cpu";
            }

            @Override
            public void geluBackward(float[] x, float[] dy, float[] dx, int n) {
                super.geluBackward(x, dy, dx, n);
                dx[3] = -dx[3] + 1;
            }
        };
        ByteArrayOutputStream buf = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        PrintStream oldErr = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new SelftestCommand().run(broken, new JavaBackend(), new PrintStream(buf, true, StandardCharsets.UTF_8));
        } finally {
            System.setErr(oldErr);
        }
        String out = buf.toString(StandardCharsets.UTF_8), msg = err.toString(StandardCharsets.UTF_8).trim();
        assertEquals(1, code, out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("geluBackward ") && l.contains("FAIL")), out);
        assertTrue(msg.startsWith("dagmoe: selftest: ") && msg.contains("geluBackward 1001 (index 3 of"), msg);
        assertEquals(1, msg.lines().count(), msg);
    }

    @Test
    void aBackendThatCannotStartExitsTwoWithOneMessage() {
        Result r = run("selftest", "--backend", "tornado");
        if (BenchConfigTest.tornadoInThisJvm()) return; // a tornado build: the backend starts (TornadoVM tests cover it)
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().startsWith("dagmoe: selftest: backend tornado cannot start: ") && r.err().contains("TORNADOVM_HOME"), r.err());
        assertEquals(1, r.err().trim().lines().count(), r.err());
        Result bad = run("selftest", "--backend", "gpu");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("must be one of java, cpu, tornado"), bad.err());
    }
}
