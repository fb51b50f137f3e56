package dagmoe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** Without TornadoVM in the JVM (every build's test JVM here), {@code devices} exits 2 with one how-to message. */
class DevicesCommandTest {

    @Test
    void withoutTornadoVmExitsTwoWithHowToEnable() {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.run("devices");
        } finally {
            System.setErr(old);
        }
        String err = buf.toString(StandardCharsets.UTF_8).trim();
        assertEquals(2, code, err);
        assertTrue(err.startsWith("dagmoe: devices: ") && err.contains("TORNADOVM_HOME"), err);
        assertEquals(1, err.lines().count(), "one message line: " + err);
    }
}
