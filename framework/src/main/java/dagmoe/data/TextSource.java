package dagmoe.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Reads a corpus as one string of text, documents separated by a newline. Formats (data.format):
 * <ul>
 *   <li>{@code text}: one UTF-8 file (gunzipped on the fly when its name ends in .gz).
 *   <li>{@code folder}: every file under a folder, recursively, whose extension is in {@link
 *       #TEXT_EXTENSIONS}, skipping hidden files and folders (names starting with '.'), in order of
 *       their relative paths ('/'-separated, by String order); each file is one document.
 *   <li>{@code jsonl}: one JSON object per line; the document is the string field data.jsonl_field.
 *       Blank lines are skipped; a malformed line or a missing field is an error naming file and line.
 *   <li>{@code zip}: the entries of a zip (for example $JAVA_HOME/lib/src.zip) whose extension is in
 *       {@link #TEXT_EXTENSIONS}, in entry-name order; each entry is one document.
 *   <li>{@code bin}: token shards, not text: see {@link TokenShards}.
 *   <li>{@code auto}: a folder -> folder (or bin when it holds .bin files and no text files), *.zip ->
 *       zip, *.jsonl / *.ndjson (optionally .gz) -> jsonl, *.bin or a file glob -> bin, else text.
 * </ul>
 * {@code builtin:europarl} ({@link Builtins}) reads the Europarl sample, keeping the body field of
 * each "title TAB date TAB body" line. Text is streamed; data.max_bytes (&gt; 0) stops reading after that
 * many UTF-8 bytes (never inside a character). Bytes become text by {@link Decoding} (data.encoding,
 * data.on_invalid_utf8): invalid UTF-8 is an error naming the file and byte offset unless replaced.
 */
public final class TextSource {
    public static final List<String> FORMATS = List.of("auto", "text", "folder", "jsonl", "bin", "zip");
    /** File extensions read by folder and zip (lower case, without the dot). */
    public static final Set<String> TEXT_EXTENSIONS = Set.of(
            "txt", "text", "md", "markdown", "rst", "adoc", "tex", "org", "html", "htm", "xml", "csv", "tsv",
            "java", "kt", "scala", "groovy", "py", "c", "h", "cc", "cpp", "hpp", "cs", "js", "ts", "go", "rs",
            "rb", "sh", "sql", "yaml", "yml", "toml", "properties");
    private static final ObjectMapper JSON = new ObjectMapper();

    private TextSource() {}

    /** The concrete format for a path: "text", "folder", "jsonl", "bin", "zip" or "builtin". */
    public static String resolveFormat(String path, String format) {
        String f = format == null || format.isEmpty() ? "auto" : format;
        if (!FORMATS.contains(f)) throw new DataException("data.format = " + format + ": must be one of " + FORMATS);
        if (path == null || path.isBlank()) throw new DataException("data.path is empty: give a file, a folder, a glob of .bin shards or builtin:europarl");
        if (Builtins.isBuiltin(path)) {
            if (!f.equals("auto") && !f.equals("text")) throw new DataException("data.format = " + f + ": " + path + " is text (use auto or text)");
            return "builtin";
        }
        if (!f.equals("auto")) return f;
        String name = fileName(path).toLowerCase(Locale.ROOT);
        if (name.contains("*") || name.contains("?")) return "bin";
        Path p = Paths.get(path);
        if (Files.isDirectory(p)) {
            try (Stream<Path> s = Files.list(p)) {
                List<String> names = s.map(x -> x.getFileName().toString().toLowerCase(Locale.ROOT)).toList();
                boolean bins = names.stream().anyMatch(n -> n.endsWith(".bin"));
                boolean texts = names.stream().anyMatch(n -> TEXT_EXTENSIONS.contains(extension(n)));
                return bins && !texts ? "bin" : "folder";
            } catch (IOException e) {
                throw new DataException(path + ": cannot list folder (" + e.getMessage() + ")", e);
            }
        }
        if (name.endsWith(".zip")) return "zip";
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson") || name.endsWith(".jsonl.gz") || name.endsWith(".ndjson.gz")) return "jsonl";
        if (name.endsWith(".bin")) return "bin";
        return "text";
    }

    /**
     * The text of the corpus at path (documents separated by '\n'), at most maxBytes UTF-8 bytes when
     * maxBytes &gt; 0. An empty result is a DataException naming the path.
     */
    public static String read(String path, String format, String jsonlField, long maxBytes) {
        return read(path, format, jsonlField, maxBytes, Decoding.strict());
    }

    /** Like {@link #read(String, String, String, long)}, decoding bytes as {@code decoding} says. */
    public static String read(String path, String format, String jsonlField, long maxBytes, Decoding decoding) {
        String f = resolveFormat(path, format);
        Collector out = new Collector(maxBytes, decoding);
        switch (f) {
            case "builtin" -> readTabLines(Builtins.resolve(path), 2, out);
            case "text" -> readText(existing(path, false), out);
            case "folder" -> readFolder(existing(path, true), out);
            case "jsonl" -> readJsonl(existing(path, false), jsonlField == null || jsonlField.isEmpty() ? "text" : jsonlField, out);
            case "zip" -> readZip(existing(path, false), out);
            case "bin" -> throw new DataException(path + ": .bin token shards hold token ids, not text (TokenShards reads them)");
            default -> throw new IllegalStateException(f);
        }
        String text = out.text();
        if (text.isEmpty()) throw new DataException(path + ": empty corpus (no text read)");
        return text;
    }

    static Path existing(String path, boolean folder) {
        Path p = Paths.get(path);
        if (!Files.exists(p)) throw new DataException("data.path = " + path + ": no such " + (folder ? "folder" : "file"));
        if (folder && !Files.isDirectory(p)) throw new DataException("data.path = " + path + ": not a folder (data.format = folder)");
        if (!folder && Files.isDirectory(p)) throw new DataException("data.path = " + path + ": is a folder, not a file (use data.format = folder or auto)");
        if (!Files.isReadable(p)) throw new DataException("data.path = " + path + ": not readable");
        return p;
    }

    // ---------------------------------------------------------------- formats

    /** The whole file as one document. */
    private static void readText(Path file, Collector out) {
        try (Reader r = out.reader(open(file), file.toString())) {
            out.appendAll(r);
            out.endDocument();
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    /** Lines "f0 TAB f1 TAB ... ", keeping field {@code field} (the last one when a line has fewer). */
    private static void readTabLines(Path file, int field, Collector out) {
        try (BufferedReader r = new BufferedReader(out.reader(open(file), file.toString()), 1 << 16)) {
            String line;
            while ((line = r.readLine()) != null && !out.full()) {
                String[] parts = line.split("\t", -1);
                String body = parts[Math.min(field, parts.length - 1)].strip();
                if (body.isEmpty()) continue;
                out.append(body);
                out.endDocument();
            }
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    private static void readFolder(Path root, Collector out) {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> s = Files.walk(root)) {
            s.filter(Files::isRegularFile)
                    .filter(p -> !hidden(root.relativize(p)))
                    .filter(p -> TEXT_EXTENSIONS.contains(extension(p.getFileName().toString())))
                    .forEach(files::add);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new DataException(root + ": cannot list folder (" + e.getMessage() + ")", e);
        }
        if (files.isEmpty()) throw new DataException(root + ": empty corpus: no files with a text extension " + new java.util.TreeSet<>(TEXT_EXTENSIONS));
        files.sort(Comparator.comparing(p -> root.relativize(p).toString().replace('\\', '/')));
        for (Path f : files) {
            if (out.full()) break;
            readText(f, out); // every file one document
        }
    }

    private static void readJsonl(Path file, String field, Collector out) {
        try (BufferedReader r = new BufferedReader(out.reader(open(file), file.toString()), 1 << 16)) {
            String line;
            long lineNo = 0;
            while ((line = r.readLine()) != null && !out.full()) {
                lineNo++;
                if (line.isBlank()) continue;
                JsonNode node;
                try {
                    node = JSON.readTree(line);
                } catch (JsonProcessingException e) {
                    throw new DataException(file + ": line " + lineNo + ": malformed JSON (" + e.getOriginalMessage() + ")", e);
                }
                if (node == null || !node.isObject()) throw new DataException(file + ": line " + lineNo + ": not a JSON object");
                JsonNode v = node.get(field);
                if (v == null) throw new DataException(file + ": line " + lineNo + ": no field \"" + field + "\" (data.jsonl_field)");
                if (!v.isTextual()) throw new DataException(file + ": line " + lineNo + ": field \"" + field + "\" is not a string");
                out.append(v.asText());
                out.endDocument();
            }
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    private static void readZip(Path file, Collector out) {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<ZipEntry> entries = new ArrayList<>();
            zip.stream().filter(e -> !e.isDirectory()).filter(e -> TEXT_EXTENSIONS.contains(extension(e.getName()))).forEach(entries::add);
            if (entries.isEmpty()) throw new DataException(file + ": empty corpus: no zip entries with a text extension");
            entries.sort(Comparator.comparing(ZipEntry::getName));
            for (ZipEntry e : entries) {
                if (out.full()) break;
                try (Reader r = out.reader(zip.getInputStream(e), file + "!" + e.getName())) {
                    out.appendAll(r);
                    out.endDocument();
                }
            }
        } catch (java.util.zip.ZipException e) {
            throw new DataException(file + ": not a readable zip file (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw unreadable(file, e);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static InputStream open(Path file) throws IOException {
        InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz")) {
            try {
                return new GZIPInputStream(in, 1 << 16);
            } catch (java.util.zip.ZipException e) {
                in.close();
                throw new DataException(file + ": not a gzip file (" + e.getMessage() + ")", e);
            }
        }
        return in;
    }

    private static DataException unreadable(Path file, IOException e) {
        if (e instanceof AccessDeniedException) return new DataException(file + ": not readable (permission denied)", e);
        return new DataException(file + ": cannot read (" + e.getMessage() + ")", e);
    }

    private static boolean hidden(Path rel) {
        for (Path part : rel) if (part.toString().startsWith(".")) return true;
        return false;
    }

    static String extension(String name) {
        String n = name.substring(name.lastIndexOf('/') + 1);
        int dot = n.lastIndexOf('.');
        return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    static String fileName(String path) {
        int s = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
        return path.substring(s + 1);
    }

    /** Accumulates documents up to a byte budget (UTF-8 bytes; 0 = unlimited). */
    static final class Collector {
        private final StringBuilder sb = new StringBuilder(1 << 16);
        private final long maxBytes;
        private final Decoding decoding;
        private long bytes;
        private boolean full;

        Collector(long maxBytes, Decoding decoding) {
            this.maxBytes = maxBytes;
            this.decoding = decoding;
        }

        Reader reader(InputStream in, String where) {
            return decoding.reader(in, where);
        }

        boolean full() {
            return full;
        }

        void appendAll(Reader r) throws IOException {
            char[] buf = new char[1 << 15];
            int carry = 0; // a high surrogate held back from the previous read
            int n;
            while (!full && (n = r.read(buf, carry, buf.length - carry)) > 0) {
                int len = carry + n;
                carry = Character.isHighSurrogate(buf[len - 1]) ? 1 : 0;
                append(new String(buf, 0, len - carry));
                if (carry == 1) buf[0] = buf[len - 1];
            }
            if (carry == 1 && !full) append(String.valueOf(buf[0]));
        }

        void append(String s) {
            if (full) return;
            if (maxBytes <= 0) {
                sb.append(s);
                return;
            }
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                int b = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
                if (bytes + b > maxBytes) {
                    full = true;
                    return;
                }
                bytes += b;
                sb.appendCodePoint(cp);
                i += Character.charCount(cp);
            }
        }

        /** Ends a document: a newline unless the text already ends with one. */
        void endDocument() {
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != '\n') append("\n");
        }

        String text() {
            return sb.toString();
        }
    }
}
