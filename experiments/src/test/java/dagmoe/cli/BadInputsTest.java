package dagmoe.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Bad input of every kind (config, data, run folder, arguments, checkpoints): each is exit code 2 with one
 * "dagmoe: " line naming the file or field, no stack trace, and no run folder left behind.
 */
class BadInputsTest {
    @TempDir static Path dir;
    static Path cfg, run, out;

    @BeforeAll
    static void setUp() throws Exception {
        cfg = CliTestSupport.config(dir, "sum", 4, "");
        run = dir.resolve("trained");
        assertEquals(0, TrainCommandTest.run(null, "train", "--config", cfg.toString(), "--out", run.toString()));
        out = dir.resolve("never-written");
    }

    static Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    static Path file(String name, byte[] bytes) throws Exception {
        return Files.write(dir.resolve(name), bytes);
    }

    static String[] train(String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--config", cfg.toString(), "--out", out.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static String[] trainConfig(Path config) {
        return new String[]{"train", "--config", config.toString(), "--out", out.toString()};
    }

    static Arguments bad(String what, String[] args, String named) {
        return Arguments.of(what, args, named);
    }

    static Stream<Arguments> cases() throws Exception {
        String base = Files.readString(cfg);
        byte[] latin1 = "caf\u00e9 au lait, cr\u00e8me br\u00fbl\u00e9e\n".repeat(50).getBytes(StandardCharsets.ISO_8859_1);
        Path latin = file("latin1.txt", latin1);
        ByteBuffer shard = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN).putInt(20240520).putInt(7).putInt(10);
        Path badShard = file("bad.bin", shard.array());
        Path plain = file("plain-file", "not a folder");
        Path nonEmpty = Files.createDirectories(dir.resolve("non-empty"));
        Files.writeString(nonEmpty.resolve("precious.txt"), "earlier results");
        Path notRun = Files.createDirectories(dir.resolve("not-a-run"));
        Files.writeString(notRun.resolve("notes.txt"), "x");
        Path brokenRun = Files.createDirectories(dir.resolve("broken-run"));
        Files.writeString(brokenRun.resolve("config.json"), "{\"model\": ");
        Path emptyFolder = Files.createDirectories(dir.resolve("no-text"));
        Files.writeString(emptyFolder.resolve("image.png"), "x");
        Path jsonl = file("d.jsonl", "{\"text\": \"a\"}\n{\"text\": \n");
        return Stream.of(
                bad("missing config", trainConfig(dir.resolve("nope.json")), "nope.json: config file not found"),
                bad("config not JSON", trainConfig(file("broken.json", "{\"model\": {\"d_model\": 16,")), "broken.json: not valid JSON (line"),
                bad("config nested 100 deep", trainConfig(file("deep.json", "{\"a\":".repeat(100) + "1" + "}".repeat(100))),
                        "deep.json: beyond the config reader's limits (line 1, column"),
                bad("config string of 2M chars", trainConfig(file("longstr.json", "{\"description\": \"" + "x".repeat(2 << 20) + "\"}")),
                        "longstr.json: beyond the config reader's limits"),
                bad("config number of 2000 digits", trainConfig(file("longnum.json", "{\"train\": {\"steps\": " + "9".repeat(2000) + "}}")),
                        "longnum.json: beyond the config reader's limits"),
                bad("config of 5 MB", trainConfig(file("huge.json", " ".repeat(5 << 20) + "{}")), "huge.json: 5242882 bytes, more than the config reader's limit"),
                bad("config in Latin-1", trainConfig(file("latin.json", "{\"description\": \"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1))),
                        "latin.json: not valid JSON"),
                bad("config is a folder", trainConfig(emptyFolder), "no-text: is a folder, not a config file"),
                bad("unknown key", train("--set", "model.agregator=dag"), "unknown key model.agregator (did you mean model.aggregator?)"),
                bad("wrong type", trainConfig(file("type.json", base.replace("\"steps\": 4", "\"steps\": \"four\""))), "train.steps = \"four\""),
                bad("out of range", train("--set", "train.lr=-3"), "train.lr = -3: must be > 0"),
                bad("--set without =", train("--set", "train.steps"), "--set train.steps: expected key=value"),
                bad("--set value with line breaks", train("--set", "train.log_every=\n\r\u2028x"),
                        "train.log_every = \\n\\r\\u2028x: must be an integer"),
                bad("task_params without a task", train("--set", "data.task_params={\"hops\": 3}"), "data.task_params = {\"hops\":3}: set but data.task is null"),
                bad("batch × seq overflows an array", train("--set", "train.batch_size=65536", "--set", "model.seq_len=65536"),
                        cfg + ": train.batch_size × model.seq_len = 4294967296: more elements than a Java array holds"),
                bad("model beyond the heap", train("--set", "model.d_model=16384", "--set", "model.n_layers=512", "--set", "model.expert_hidden=16384"),
                        cfg + ": the model ("),
                bad("heads do not divide d_model", train("--set", "model.n_heads=3"), "model.n_heads = 3: must divide model.d_model"),
                bad("missing corpus", train("--set", "data.path=" + dir.resolve("missing.txt")), "missing.txt: no such file"),
                bad("unknown encoding", train("--set", "data.encoding=utf-16"), "data.encoding = utf-16: must be one of"),
                bad("unknown on_invalid_utf8", train("--set", "data.on_invalid_utf8=ignore"), "data.on_invalid_utf8 = ignore: must be one of"),
                bad("Latin-1 corpus read as UTF-8", train("--set", "data.path=" + latin), latin + ": invalid UTF-8 at byte offset 3 "),
                bad("folder without text files", train("--set", "data.path=" + emptyFolder, "--set", "data.format=folder"), "no-text: empty corpus"),
                bad("malformed JSONL line", train("--set", "data.path=" + jsonl), "d.jsonl: line 2: malformed JSON"),
                bad("token shard of an unknown version", train("--set", "data.path=" + badShard), "bad.bin: llm.c shard header version 7"),
                bad("unknown backend", train("--backend", "cuda"), "backend.name = cuda"),
                bad("--out is a plain file", new String[]{"train", "--config", cfg.toString(), "--out", plain.toString()}, "plain-file: is a file, not a run folder"),
                bad("--out below a plain file", new String[]{"train", "--config", cfg.toString(), "--out", plain.resolve("sub").toString()},
                        "plain-file/sub: "),
                bad("--out holds an earlier run", new String[]{"train", "--config", cfg.toString(), "--out", nonEmpty.toString()}, "non-empty is not empty"),
                bad("--resume on a folder that is not a run", new String[]{"train", "--config", cfg.toString(), "--out", notRun.toString(), "--resume"},
                        "not-a-run is not a run folder (no config.json)"),
                bad("--resume a run whose config.json is damaged", new String[]{"train", "--out", brokenRun.toString(), "--resume"},
                        "broken-run/config.json: not valid JSON"),
                bad("--strict without --resume", train("--strict"), "--strict needs --resume"),
                bad("--until 0", train("--until", "0"), "--until 0: must be >= 1"),
                bad("--resume with another config", new String[]{"train", "--config", cfg.toString(), "--out", run.toString(), "--resume",
                        "--set", "train.steps=8", "--set", "model.d_model=32"}, "cannot resume, the config differs from the run's config.json in model.d_model"),
                bad("eval of a missing run", new String[]{"eval", "--run", dir.resolve("no-run").toString()}, "no-run: no such run folder"),
                bad("eval of a run with a damaged config", new String[]{"eval", "--run", brokenRun.toString()}, "broken-run/config.json: not valid JSON"),
                bad("generate beyond the token cap", new String[]{"generate", "--run", run.toString(), "--prompt", "a", "--tokens", "2147483647"},
                        "--tokens 2147483647: must be <= 1000000"),
                bad("generate negative tokens", new String[]{"generate", "--run", run.toString(), "--prompt", "a", "--tokens", "-1"}, "--tokens -1: must be >= 0"),
                bad("verify a missing folder", new String[]{"verify", dir.resolve("gone").toString()}, "gone: no such folder"),
                bad("verify a folder without runs", new String[]{"verify", emptyFolder.toString()}, "no-text: not a run folder"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exitsWith2NamingTheFieldOrFile(String what, String[] args, String named) throws Exception {
        StringBuilder err = new StringBuilder();
        assertEquals(2, TrainCommandTest.run(err, args), what + ": " + err);
        String msg = err.toString();
        assertTrue(msg.startsWith("dagmoe: "), msg);
        assertTrue(msg.contains(named), "expected \"" + named + "\" in: " + msg);
        assertEquals(1, msg.lines().count(), "one line: " + msg);
        assertFalse(Files.exists(out), "nothing written for bad input (" + what + ")");
    }
}
