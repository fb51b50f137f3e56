package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.io.AtomicWrite;
import dagmoe.io.CrashPoint;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object per line, appended (each line one write), and forced to disk by
 * {@link #sync()} before every checkpoint, so the lines up to a checkpoint's step survive a crash that the
 * checkpoint survives. Train lines have {@code "kind": "train"}, evaluation lines {@code "kind": "eval"};
 * both have {@code "step"}.
 */
public final class MetricsWriter implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path file;
    private final FileChannel out;

    /**
     * Opens for appending. {@code keepUpToStep} &gt;= 0 first drops lines after that step (a resumed run redoes
     * them) and lines cut by a crash, rewriting the file atomically.
     */
    public MetricsWriter(Path runDir, long keepUpToStep) {
        file = runDir.resolve(FILE);
        try {
            if (keepUpToStep >= 0 && Files.exists(file)) {
                StringBuilder kept = new StringBuilder();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) continue;
                    try {
                        if (JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= keepUpToStep) kept.append(line).append('\n');
                    } catch (IOException e) {
                        // a line cut by a crash: dropped
                    }
                }
                AtomicWrite.writeString(file, kept.toString());
            }
            out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot open " + file, e);
        }
    }

    private MetricsWriter() {
        file = null;
        out = null;
    }

    /** A writer that writes nothing (a data-parallel replica other than 0). */
    public static MetricsWriter discarding() {
        return new MetricsWriter();
    }

    public void write(ObjectNode line) {
        if (out == null) return;
        try {
            byte[] b = (JSON.writeValueAsString(line) + "\n").getBytes(StandardCharsets.UTF_8);
            String at = System.getProperty(CrashPoint.PROPERTY);
            if (at != null && at.startsWith("metrics@")) {
                // crash tests: half the line on disk, then the pause
                long step = line.path("step").asLong(-1);
                if (at.equals("metrics@" + step)) {
                    writeFully(ByteBuffer.wrap(b, 0, b.length / 2));
                    out.force(false);
                    CrashPoint.reach("metrics", step);
                    writeFully(ByteBuffer.wrap(b, b.length / 2, b.length - b.length / 2));
                    return;
                }
            }
            writeFully(ByteBuffer.wrap(b));
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot write " + file, e);
        }
    }

    private void writeFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }

    /** Forces the lines written so far to disk. */
    public void sync() {
        if (out == null) return;
        try {
            out.force(false);
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot force " + file + " to disk", e);
        }
    }

    /** Every line of a run's metrics file (for reports). */
    public static List<JsonNode> read(Path runDir) {
        Path file = runDir.resolve(FILE);
        List<JsonNode> lines = new ArrayList<>();
        if (!Files.exists(file)) return lines;
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) lines.add(JSON.readTree(line));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return lines;
    }

    public static ObjectNode object() {
        return JSON.createObjectNode();
    }

    @Override
    public void close() {
        if (out == null) return;
        try {
            out.force(false);
            out.close();
        } catch (IOException e) {
            throw AtomicWrite.failure("cannot close " + file, e);
        }
    }
}
