package dagmoe.backend;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every operation rejects inconsistent shapes with an IllegalArgumentException that names it. */
class JavaBackendShapesTest {

    final Backend be = new JavaBackend();

    static float[] f(int n) {
        return new float[n];
    }

    static int[] i(int n) {
        return new int[n];
    }

    @Test
    void matmulMessageNamesOpArrayLengthFormulaAndSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.matmulABt(f(10), 0, f(20), 0, f(15), 0, 3, 5, 4, false));
        assertEquals("matmulABt: a has 10 elements, needs aOff + m*k = 12 (aOff=0, m=3, k=4)", e.getMessage());
    }

    @Test
    void validCallsDoNotThrow() {
        be.matmul(f(12), 0, f(20), 0, f(15), 0, 3, 5, 4, false);
        be.matmul(f(0), 0, f(0), 0, f(0), 0, 0, 0, 0, true); // an expert with no tokens
        be.ropeForward(f(8), f(8), 2, 2, 1, 4, 10000f);
        be.attentionForward(f(0), f(0), f(0), f(0), f(0), 0, 4, 2, 2);
        be.groupedMatmulABt(f(12), f(30), f(20), new int[] {0, 1, 4}, 4, 2, 5, 3, false);
        be.groupedMatmulAtB(f(12), f(20), f(30), new int[] {0, 0, 4}, 4, 2, 3, 5); // an expert with no rows
    }

    record Case(String op, Executable call) {}

    @TestFactory
    List<DynamicTest> everyOpRejectsBadShapes() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("matmul", () -> be.matmul(f(12), 0, f(19), 0, f(15), 0, 3, 5, 4, false)));
        cases.add(new Case("matmul", () -> be.matmul(f(12), 1, f(20), 0, f(15), 0, 3, 5, 4, false)));
        cases.add(new Case("matmul", () -> be.matmul(f(12), 0, f(20), 0, f(15), 0, -3, 5, 4, false)));
        cases.add(new Case("matmulABt", () -> be.matmulABt(f(12), 0, f(20), 0, f(14), 0, 3, 5, 4, false)));
        cases.add(new Case("matmulABt", () -> be.matmulABt(f(12), 0, f(20), -1, f(15), 0, 3, 5, 4, false)));
        cases.add(new Case("matmulAtB", () -> be.matmulAtB(f(12), 0, f(20), 0, f(15), 2, 3, 5, 4, true)));
        cases.add(new Case("matmulAtB", () -> be.matmulAtB(null, 0, f(20), 0, f(15), 0, 3, 5, 4, true)));
        // grouped products over S = 4 sorted rows of N = 2 experts: x [4×3], w [2·5×3], y [4×5], offsets [3]
        int[] off = {0, 1, 4};
        cases.add(new Case("groupedMatmulABt", () -> be.groupedMatmulABt(f(11), f(30), f(20), off, 4, 2, 5, 3, false)));
        cases.add(new Case("groupedMatmulABt", () -> be.groupedMatmulABt(f(12), f(29), f(20), off, 4, 2, 5, 3, false)));
        cases.add(new Case("groupedMatmulABt", () -> be.groupedMatmulABt(f(12), f(30), f(20), i(2), 4, 2, 5, 3, false)));
        cases.add(new Case("groupedMatmul", () -> be.groupedMatmul(f(12), f(30), f(19), off, 4, 2, 5, 3, true)));
        cases.add(new Case("groupedMatmul", () -> be.groupedMatmul(f(12), f(30), f(20), off, 4, 0, 5, 3, true)));
        cases.add(new Case("groupedMatmulAtB", () -> be.groupedMatmulAtB(f(12), f(20), f(29), off, 4, 2, 3, 5)));
        cases.add(new Case("groupedMatmulAtB", () -> be.groupedMatmulAtB(f(12), f(19), f(30), off, 4, 2, 3, 5)));
        cases.add(new Case("fill", () -> be.fill(f(3), 4, 1f)));
        cases.add(new Case("fill", () -> be.fill(f(3), -1, 1f)));
        cases.add(new Case("copy", () -> be.copy(f(4), f(3), 4)));
        cases.add(new Case("axpy", () -> be.axpy(1f, f(3), f(4), 4)));
        cases.add(new Case("scale", () -> be.scale(f(3), 4, 2f)));
        cases.add(new Case("sumSquares", () -> be.sumSquares(f(3), 4)));
        cases.add(new Case("hasNonFinite", () -> be.hasNonFinite(f(3), 4)));
        cases.add(new Case("clipGlobalNorm", () -> be.clipGlobalNorm(new float[][] {f(4), f(2)}, new int[] {4, 3}, 1f, new double[1])));
        cases.add(new Case("clipGlobalNorm", () -> be.clipGlobalNorm(new float[][] {f(4)}, new int[] {4, 3}, 1f, new double[1])));
        cases.add(new Case("clipGlobalNorm", () -> be.clipGlobalNorm(new float[][] {f(4)}, new int[] {4}, 1f, new double[0])));
        cases.add(new Case("embeddingForward", () -> be.embeddingForward(f(12), new int[] {0, 3}, f(8), 2, 4)));
        cases.add(new Case("embeddingForward", () -> be.embeddingForward(f(12), new int[] {0, -1}, f(8), 2, 4)));
        cases.add(new Case("embeddingForward", () -> be.embeddingForward(f(12), new int[] {0, 1}, f(7), 2, 4)));
        cases.add(new Case("embeddingBackward", () -> be.embeddingBackward(f(8), new int[] {0, 3}, f(12), 2, 4, 3)));
        cases.add(new Case("embeddingBackward", () -> be.embeddingBackward(f(8), new int[] {0, 1}, f(11), 2, 4, 3)));
        cases.add(new Case("rmsnormForward", () -> be.rmsnormForward(f(8), f(3), f(8), f(2), 2, 4, 1e-5f)));
        cases.add(new Case("rmsnormForward", () -> be.rmsnormForward(f(8), f(4), f(8), f(1), 2, 4, 1e-5f)));
        cases.add(new Case("rmsnormForward", () -> be.rmsnormForward(f(8), f(4), f(8), f(2), 2, 0, 1e-5f)));
        cases.add(new Case("rmsnormBackward", () -> be.rmsnormBackward(f(8), f(4), f(2), f(8), f(7), f(4), 2, 4)));
        cases.add(new Case("rmsnormBackward", () -> be.rmsnormBackward(f(8), f(4), f(2), f(8), f(8), f(3), 2, 4)));
        cases.add(new Case("swigluForward", () -> be.swigluForward(f(4), f(4), f(3), 4)));
        cases.add(new Case("swigluBackward", () -> be.swigluBackward(f(4), f(4), f(4), f(4), f(3), 4)));
        cases.add(new Case("geluForward", () -> be.geluForward(f(4), f(3), 4)));
        cases.add(new Case("geluBackward", () -> be.geluBackward(f(4), f(4), f(3), 4)));
        cases.add(new Case("ropeForward", () -> be.ropeForward(f(8), f(7), 2, 2, 1, 4, 1e4f)));
        cases.add(new Case("ropeForward", () -> be.ropeForward(f(6), f(6), 2, 2, 1, 3, 1e4f)));
        float[] alias = f(8);
        cases.add(new Case("ropeForward", () -> be.ropeForward(alias, alias, 2, 2, 1, 4, 1e4f)));
        cases.add(new Case("ropeBackward", () -> be.ropeBackward(f(7), f(8), 2, 2, 1, 4, 1e4f)));
        cases.add(new Case("ropeBackward", () -> be.ropeBackward(f(8), f(8), 2, 0, 1, 4, 1e4f)));
        // B=1, S=3, H=2, hd=2: token tensors 12, square tensors 18
        cases.add(new Case("attentionForward", () -> be.attentionForward(f(12), f(12), f(11), f(18), f(12), 1, 3, 2, 2)));
        cases.add(new Case("attentionForward", () -> be.attentionForward(f(12), f(12), f(12), f(17), f(12), 1, 3, 2, 2)));
        cases.add(new Case("attentionBackward", () -> be.attentionBackward(f(12), f(12), f(12), f(18), f(12),
                f(12), f(12), f(12), f(17), 1, 3, 2, 2)));
        cases.add(new Case("attentionBackward", () -> be.attentionBackward(f(12), f(12), f(12), f(18), f(12),
                f(12), f(11), f(12), f(18), 1, 3, 2, 2)));
        // T=2, N=4, K=2
        cases.add(new Case("routerForward", () -> be.routerForward(f(8), f(8), i(4), f(3), 2, 4, 2, true)));
        cases.add(new Case("routerForward", () -> be.routerForward(f(8), f(8), i(4), f(4), 2, 4, 5, true)));
        cases.add(new Case("routerForward", () -> be.routerForward(f(8), f(8), i(3), f(4), 2, 4, 2, true)));
        cases.add(new Case("routerBackward", () -> be.routerBackward(f(8), new int[] {0, 1, 2, 4}, f(4), f(4), f(8), 2, 4, 2, true)));
        cases.add(new Case("routerBackward", () -> be.routerBackward(f(8), i(4), f(4), f(4), f(7), 2, 4, 2, true)));
        cases.add(new Case("routerAuxForward", () -> be.routerAuxForward(f(8), f(8), i(4), f(1), 2, 4, 2, 0.01f, 0.001f)));
        cases.add(new Case("routerAuxForward", () -> be.routerAuxForward(f(0), f(0), i(0), f(2), 0, 4, 2, 0.01f, 0.001f)));
        cases.add(new Case("routerAuxBackward", () -> be.routerAuxBackward(f(8), f(8), new int[] {0, 0, 9, 1}, f(8), 2, 4, 2, 0.01f, 0.001f)));
        cases.add(new Case("routerBalanceBackward", () -> be.routerBalanceBackward(f(8), f(3), f(8), 2, 4)));
        cases.add(new Case("routerBalanceBackward", () -> be.routerBalanceBackward(f(8), f(4), f(7), 2, 4)));
        cases.add(new Case("dispatchPlan", () -> be.dispatchPlan(i(4), i(4), i(4), i(4), i(4), 2, 2, 4)));
        cases.add(new Case("dispatchPlan", () -> be.dispatchPlan(new int[] {0, 5, 1, 1}, i(4), i(5), i(4), i(4), 2, 2, 4)));
        cases.add(new Case("dispatchPlan", () -> be.dispatchPlan(i(4), i(4), i(5), i(3), i(4), 2, 2, 4)));
        cases.add(new Case("gatherRows", () -> be.gatherRows(f(6), new int[] {0, 3}, 1, f(4), 2, 2)));
        cases.add(new Case("gatherRows", () -> be.gatherRows(f(6), new int[] {0, 1}, 0, f(4), 2, 2)));
        cases.add(new Case("gatherRows", () -> be.gatherRows(f(6), new int[] {0, 1}, 1, f(3), 2, 2)));
        cases.add(new Case("sumSlotRows", () -> be.sumSlotRows(f(8), new int[] {0, 1, 2, 4}, f(4), 2, 2, 2, false)));
        cases.add(new Case("sumSlotRows", () -> be.sumSlotRows(f(8), i(4), f(3), 2, 2, 2, true)));
        cases.add(new Case("scaleRows", () -> be.scaleRows(f(6), f(2), f(6), 3, 2)));
        cases.add(new Case("scaleRowsBackward", () -> be.scaleRowsBackward(f(6), f(3), f(6), f(6), f(2), 3, 2)));
        cases.add(new Case("addTokenToSlots", () -> be.addTokenToSlots(f(8), f(3), 0.5f, f(8), 2, 2, 2)));
        cases.add(new Case("addTokenToSlots", () -> be.addTokenToSlots(f(8), f(4), 0.5f, f(7), 2, 2, 2)));
        cases.add(new Case("addTokenToSlotsBackward", () -> be.addTokenToSlotsBackward(f(8), 0.5f, f(7), f(4), 2, 2, 2)));
        // T=2, K=2, g=3: p 48, out 12
        cases.add(new Case("dagPairwiseForward", () -> be.dagPairwiseForward(f(47), f(12), 2, 2, 3)));
        cases.add(new Case("dagPairwiseForward", () -> be.dagPairwiseForward(f(48), f(11), 2, 2, 3)));
        cases.add(new Case("dagPairwiseBackward", () -> be.dagPairwiseBackward(f(48), f(12), f(47), 2, 2, 3)));
        cases.add(new Case("dagGateMeans", () -> be.dagGateMeans(f(48), f(3), 2, 2, 3)));
        cases.add(new Case("dagGateMeans", () -> be.dagGateMeans(f(48), f(4), 2, 2, 0)));
        cases.add(new Case("dagPairwiseForwardWithGateMeans", () -> be.dagPairwiseForwardWithGateMeans(f(48), f(11), f(4), 2, 2, 3)));
        cases.add(new Case("dagPairwiseForwardWithGateMeans", () -> be.dagPairwiseForwardWithGateMeans(f(48), f(12), f(3), 2, 2, 3)));
        cases.add(new Case("crossEntropyForward", () -> be.crossEntropyForward(f(6), new int[] {0, 3}, f(2), f(2), 2, 3)));
        cases.add(new Case("crossEntropyForward", () -> be.crossEntropyForward(f(5), new int[] {0, 1}, f(2), f(2), 2, 3)));
        cases.add(new Case("crossEntropyForward", () -> be.crossEntropyForward(f(6), new int[] {0, 1}, f(2), f(1), 2, 3)));
        cases.add(new Case("crossEntropyBackward", () -> be.crossEntropyBackward(f(6), new int[] {0, 1}, f(2), f(5), 2, 3, 1f)));
        cases.add(new Case("adamw", () -> be.adamw(f(4), f(4), f(4), f(3), 4, 1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 0.1f, 0.05f)));

        List<DynamicTest> tests = new ArrayList<>();
        int n = 0;
        for (Case c : cases) {
            tests.add(DynamicTest.dynamicTest(c.op() + " #" + (n++), () -> {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c.call());
                assertTrue(e.getMessage().startsWith(c.op() + ": "), "message should start with the op: " + e.getMessage());
            }));
        }
        // every operation of the interface is covered at least once
        java.util.Set<String> covered = new java.util.TreeSet<>();
        cases.forEach(c -> covered.add(c.op()));
        java.util.Set<String> ops = new java.util.TreeSet<>();
        for (java.lang.reflect.Method m : Backend.class.getMethods()) {
            // toHost / hostWrote are the residency contract (any arrays, no shapes) and setProfiling a switch, not operations
            String name = m.getName();
            if (m.getParameterCount() > 0 && !java.util.Set.of("toHost", "hostWrote", "setProfiling").contains(name)) ops.add(name);
        }
        tests.add(DynamicTest.dynamicTest("all ops covered", () -> assertEquals(ops, covered)));
        return tests;
    }
}
