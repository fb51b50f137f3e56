package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code metrics.jsonl}: one JSON object per line, flushed per line. Train lines have
 * {@code "kind": "train"}, evaluation lines {@code "kind": "eval"}; both have {@code "step"}.
 */
public final class MetricsWriter implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;

    /** Opens for appending. {@code keepUpToStep} &gt;= 0 first drops lines after that step (a resumed run redoes them). */
    public MetricsWriter(Path runDir, long keepUpToStep) {
        Path file = runDir.resolve(FILE);
        try {
            if (keepUpToStep >= 0 && Files.exists(file)) {
                List<String> kept = new ArrayList<>();
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (line.isBlank()) continue;
                    try {
                        if (JSON.readTree(line).path("step").asLong(Long.MAX_VALUE) <= keepUpToStep) kept.add(line);
                    } catch (IOException e) {
                        // a line cut by a crash: dropped
                    }
                }
                Path tmp = runDir.resolve(FILE + ".tmp");
                Files.write(tmp, kept, StandardCharsets.UTF_8);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            }
            out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file + ": " + e.getMessage(), e);
        }
    }

    private MetricsWriter() {
        out = null;
    }

    /** A writer that writes nothing (a data-parallel replica other than 0). */
    public static MetricsWriter discarding() {
        return new MetricsWriter();
    }

    public void write(ObjectNode line) {
        if (out == null) return;
        try {
            out.write(JSON.writeValueAsString(line));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
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
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
