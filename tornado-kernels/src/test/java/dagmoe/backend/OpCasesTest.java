package dagmoe.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

/** The selftest's operation cases: they cover every Backend operation, cpu passes them, a wrong result fails its case. */
class OpCasesTest {

    @Test
    void everyBackendOperationHasACase() {
        Set<String> ops = new TreeSet<>();
        for (Method m : Backend.class.getMethods()) {
            if (!Modifier.isStatic(m.getModifiers())) ops.add(m.getName());
        }
        ops.removeAll(Set.of("name", "threads", "close", "toHost", "hostWrote", "concurrentInstances", "defersReads", "setProfiling"));
        Set<String> covered = OpCases.cases().stream().map(OpCases.Case::op).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(ops, covered);
    }

    @Test
    void cpuAgreesWithJavaOnEveryCase() {
        JavaBackend java = new JavaBackend();
        try (CpuBackend cpu = new CpuBackend(2)) {
            for (OpCases.Case c : OpCases.cases()) {
                OpCases.Row r = OpCases.check(c, cpu, java);
                assertTrue(r.pass(), c.op() + " " + c.shape() + ": " + r.diff().detail());
                assertTrue(r.diff().maxRel() <= Agreement.CPU_OP.rel(), c.op() + " " + r.diff());
            }
        }
    }

    @Test
    void javaAgainstItselfIsExact() {
        JavaBackend java = new JavaBackend();
        for (OpCases.Case c : OpCases.cases()) {
            OpCases.Row r = OpCases.check(c, new JavaBackend(), java);
            assertTrue(r.pass() && r.diff().maxAbs() == 0, c.op() + ": " + r.diff().detail());
        }
    }

    /** A backend whose axpy is off by 1e-3 in one element, and whose top-k swaps two experts: exactly those cases fail. */
    @Test
    void aWrongResultFailsItsCaseOnly() {
        Backend broken = new JavaBackend() {
            @Override
            public String name() {
                return "cpu"; // judged with cpu's tolerance
            }

            @Override
            public void axpy(float alpha, float[] x, float[] y, int n) {
                super.axpy(alpha, x, y, n);
                y[n / 2] += 1e-3f;
            }

            @Override
            public void routerForward(float[] logits, float[] probs, int[] topIdx, float[] gates, int T, int N, int K, boolean normalize) {
                super.routerForward(logits, probs, topIdx, gates, T, N, K, normalize);
                int t = topIdx[0];
                topIdx[0] = topIdx[1];
                topIdx[1] = t;
            }
        };
        JavaBackend java = new JavaBackend();
        List<String> failed = OpCases.cases().stream().map(c -> OpCases.check(c, broken, java)).filter(r -> !r.pass())
                .map(OpCases.Row::op).distinct().toList();
        assertEquals(List.of("axpy", "routerForward"), failed);
        OpCases.Row axpy = OpCases.check(OpCases.cases().stream().filter(c -> c.op().equals("axpy")).findFirst().orElseThrow(), broken, java);
        assertEquals(500, axpy.diff().worst(), axpy.diff().detail());
        assertEquals(1e-3, axpy.diff().maxAbs(), 1e-6);
    }

    @Test
    void toleranceDefinitions() {
        float[] j = {1f, -4f, 0f};
        assertTrue(Agreement.compare(j, new float[] {1f + 1.9e-5f, -4f, 0f}, Agreement.CPU_OP).pass(), "within 5e-6 of max|java| 4");
        assertFalse(Agreement.compare(j, new float[] {1f, -4f, 2.1e-5f}, Agreement.CPU_OP).pass());
        // per element: 1e-4 (1 + |java|)
        assertTrue(Agreement.compare(j, new float[] {1.00019f, -4.0004f, 0.00009f}, Agreement.DEVICE_OP).pass());
        assertFalse(Agreement.compare(j, new float[] {1f, -4f, 0.00011f}, Agreement.DEVICE_OP).pass());
        assertTrue(Agreement.compare(new float[] {Float.NaN, Float.POSITIVE_INFINITY}, new float[] {Float.NaN, Float.POSITIVE_INFINITY},
                Agreement.EXACT).pass(), "NaN = NaN, inf = inf");
        assertFalse(Agreement.compare(new float[] {1f}, new float[] {Float.NaN}, Agreement.DEVICE_OP).pass(), "NaN where java is finite");
        assertFalse(Agreement.compare(new int[] {1, 2}, new int[] {2, 1}).pass());
        assertEquals("5e-6·max|java|", Agreement.CPU_OP.describe());
        assertEquals("1e-4·(1+|java|)", Agreement.DEVICE_OP.describe());
    }
}
