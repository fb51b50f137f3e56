package dagmoe.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** generate streams its tokens; corpus encodings; --resume on a missing folder says it starts a new run. */
class ReliabilityCliTest {
    @TempDir Path tmp;

    @Test
    void generateStreamsTokensAsTheyAreSampled() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 3, "");
        Path run = tmp.resolve("run");
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", run.toString()));
        int[] flushes = {0};
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream counting = new PrintStream(buf, false, StandardCharsets.UTF_8) {
            @Override
            public void flush() {
                flushes[0]++;
                super.flush();
            }
        };
        PrintStream old = System.out;
        System.setOut(counting);
        int code;
        try {
            code = Main.run("generate", "--run", run.toString(), "--prompt", "the sea", "--tokens", "40", "--temperature", "0");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, code);
        assertTrue(flushes[0] >= 40 / 8, "printed as it went: " + flushes[0] + " flushes");
        RunModel rm = RunModel.load(run, null, null);
        int[] ids = GenerateCommand.generate(rm.model(), rm.tokenizer().encode("the sea"), 40, 0, 0, 1);
        assertEquals(rm.tokenizer().decode(ids) + System.lineSeparator(), buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void latin1CorpusTrainsWithItsEncodingOrWithReplacementCounted() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 2, "");
        Path latin = tmp.resolve("latin1.txt");
        Files.write(latin, "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade\n".repeat(80).getBytes(StandardCharsets.ISO_8859_1));
        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", tmp.resolve("a").toString(),
                "--set", "data.path=" + latin, "--set", "data.encoding=latin-1"), err.toString());
        assertEquals("", err.toString());
        err.setLength(0);
        assertEquals(0, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", tmp.resolve("b").toString(),
                "--set", "data.path=" + latin, "--set", "data.on_invalid_utf8=replace"), err.toString());
        // six accented characters a line, each one byte that is not UTF-8
        assertEquals("dagmoe: " + latin + ": 480 invalid UTF-8 sequence(s) replaced by U+FFFD (data.on_invalid_utf8 = replace)",
                err.toString().strip());
    }

    @Test
    void resumeOnAMissingFolderSaysItStartsANewRun() throws Exception {
        Path cfg = CliTestSupport.config(tmp, "sum", 2, "");
        Path run = tmp.resolve("new");
        StringBuilder err = new StringBuilder();
        assertEquals(0, TrainCommandTest.run(err, "train", "--config", cfg.toString(), "--out", run.toString(), "--resume"));
        assertEquals("dagmoe: --resume: " + run + " does not exist: starting a new run there", err.toString().strip());
        assertTrue(Files.isRegularFile(run.resolve("summary.json")));
    }
}
