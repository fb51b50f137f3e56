package dagmoe.backend;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class BackendsTest {

    static boolean present(String cls) {
        try {
            Class.forName(cls);
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    @Test
    void javaIsTheSequentialReference() {
        try (Backend b = Backends.create("java", 8)) {
            assertInstanceOf(JavaBackend.class, b);
            assertEquals("java", b.name());
            assertEquals(1, b.threads());
        }
    }

    @Test
    void cpuGetsItsThreadCount() {
        try (Backend b = Backends.create("cpu", 2)) {
            assertInstanceOf(CpuBackend.class, b);
            assertEquals("cpu", b.name());
            assertEquals(2, b.threads());
        }
    }

    @Test
    void badThreadCountOrNameIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("cpu", 0));
        assertTrue(e.getMessage().contains("threads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Backends.create("gpu", 1));
        assertTrue(e.getMessage().contains("gpu") && e.getMessage().contains("java, cpu, tornado"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Backends.create(null, 1));
    }

    @Test
    void tornadoWithoutItsClassesSaysHowToEnableIt() {
        assumeTrue(!present(Backends.TORNADO_CLASS), "TornadoVM backend is built in");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("tornado", 1));
        assertTrue(e.getMessage().contains("TORNADOVM_HOME"), e.getMessage());
    }
}
