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
    void javaIsTheSequentialReferenceAndCpuGetsItsThreadCount() {
        for (Object[] c : new Object[][] {{"java", 8, JavaBackend.class, 1}, {"cpu", 2, CpuBackend.class, 2}}) {
            try (Backend b = Backends.create((String) c[0], (Integer) c[1])) {
                assertInstanceOf((Class<?>) c[2], b);
                assertEquals(c[0], b.name());
                assertEquals(c[3], b.threads());
            }
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
