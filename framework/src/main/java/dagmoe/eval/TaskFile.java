package dagmoe.eval;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.data.DataException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A downstream task file (JSON Lines), one kind per file:
 * <pre>
 *   multiple choice:  {"context": "...", "choices": [" a", " b", ...], "label": i}   (HellaSwag, PIQA, ARC style)
 *   cloze:            {"context": "...", "target": " word"}                          (Lambada style)
 * </pre>
 * Other fields (an id, the source document) are allowed and ignored; blank lines are skipped. A choice or target
 * is appended to the context as written, so it carries its own leading space. Every problem is a
 * {@link DataException} naming the file and line.
 */
public record TaskFile(Path file, Kind kind, List<Example> examples) {

    public enum Kind { CHOICE, CLOZE }

    /**
     * One example; {@code line} is 1-based. Multiple choice: {@code choices} and {@code label}; cloze: the single
     * {@code choices} entry is the target and {@code label} is 0.
     */
    public record Example(int line, String context, List<String> choices, int label) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static TaskFile read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": task file not found");
        } catch (IOException e) {
            throw new DataException(file + ": cannot read (" + e.getMessage() + ")");
        }
        Kind kind = null;
        int kindLine = 0;
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) continue;
            int line = i + 1;
            String at = file + ":" + line + ": ";
            JsonNode o;
            try {
                o = JSON.readTree(lines.get(i));
            } catch (JsonProcessingException e) {
                throw new DataException(at + "not valid JSON (" + e.getOriginalMessage() + ")");
            }
            if (o == null || !o.isObject()) throw new DataException(at + "must be a JSON object {\"context\", \"choices\", \"label\"} or {\"context\", \"target\"}");
            JsonNode ctx = o.get("context");
            if (ctx == null || !ctx.isTextual() || ctx.textValue().isEmpty()) throw new DataException(at + "\"context\" must be a non-empty string");
            boolean choice = o.has("choices"), cloze = o.has("target");
            if (choice == cloze) throw new DataException(at + "needs either \"choices\" and \"label\" (multiple choice) or \"target\" (cloze)");
            Kind k = choice ? Kind.CHOICE : Kind.CLOZE;
            if (kind == null) {
                kind = k;
                kindLine = line;
            } else if (k != kind) {
                throw new DataException(at + "a " + name(k) + " example in a " + name(kind) + " file (line " + kindLine + ")");
            }
            if (cloze) {
                JsonNode t = o.get("target");
                if (!t.isTextual() || t.textValue().isEmpty()) throw new DataException(at + "\"target\" must be a non-empty string");
                out.add(new Example(line, ctx.textValue(), List.of(t.textValue()), 0));
                continue;
            }
            JsonNode cs = o.get("choices");
            if (!cs.isArray() || cs.size() < 2) throw new DataException(at + "\"choices\" must be a list of at least 2 strings");
            List<String> choices = new ArrayList<>();
            for (JsonNode c : cs) {
                if (!c.isTextual() || c.textValue().isEmpty()) throw new DataException(at + "\"choices\" must hold non-empty strings");
                choices.add(c.textValue());
            }
            JsonNode label = o.get("label");
            if (label == null || !label.isIntegralNumber() || label.asInt() < 0 || label.asInt() >= choices.size()) {
                throw new DataException(at + "\"label\" must be an integer in [0, " + choices.size() + ") (the index of the right choice)");
            }
            out.add(new Example(line, ctx.textValue(), List.copyOf(choices), label.asInt()));
        }
        if (out.isEmpty()) throw new DataException(file + ": no examples");
        return new TaskFile(file, kind, List.copyOf(out));
    }

    private static String name(Kind k) {
        return k == Kind.CHOICE ? "multiple-choice" : "cloze";
    }
}
