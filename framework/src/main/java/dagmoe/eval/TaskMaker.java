package dagmoe.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.data.DataException;
import dagmoe.data.Split;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Builds downstream task files ({@link TaskFile}) from a corpus, reproducibly (same text, seed and parameters:
 * the same lines):
 * <ul>
 *   <li>{@code choice}: HellaSwag-like next-sentence choice. The context is the text of a document up to a
 *       sentence; the four choices are that sentence and three other sentences of the same document (not the one
 *       before it), in a seeded order;</li>
 *   <li>{@code cloze}: Lambada-like last word. A passage of a document up to the last word of a sentence of at
 *       least six words; the target is that word (letters only, at least three).</li>
 * </ul>
 * Splits are disjoint by document: {@code test} comes from the corpus's validation chunks ({@link Split} with
 * {@code valFraction}, the same text a model trained on the corpus with that data.val_fraction never saw), and
 * {@code train} / {@code val} from the documents of the training chunks (a seeded share {@code taskVal} to val).
 * A document is up to {@code docSentences} consecutive sentences of one chunk of the split; sentences end at . ! or ? (with closing
 * quotes) before white space and a capital letter, and at paragraph breaks. Every line carries its document id.
 */
public final class TaskMaker {
    private TaskMaker() {}

    public static final List<String> SPLITS = List.of("train", "val", "test");
    public static final List<String> KINDS = List.of("choice", "cloze");

    /** Parameters; {@code examples}: at most this many per kind and split. */
    public record Params(long seed, int examples, double valFraction, double taskVal, int docSentences, int contextChars,
                         int minChoiceChars, int maxChoiceChars) {
        public static Params defaults(long seed, int examples) {
            return new Params(seed, examples, 0.1, 0.1, 40, 200, 16, 80);
        }
    }

    /** The lines of each task file, by "kind-split" ("choice-test"), in document order. */
    public record Made(Map<String, List<ObjectNode>> files) {}

    private record Doc(int id, String split, List<String> sentences) {}

    private record Candidate(Doc doc, int sentence) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    public static Made make(String text, Params p) {
        if (p.examples() < 1) throw new IllegalArgumentException("examples = " + p.examples() + ": must be >= 1");
        List<Doc> docs = new ArrayList<>();
        List<Integer> ends = Split.textChunkEnds(text);
        for (int c = 0, start = 0; c < ends.size(); start = ends.get(c), c++) { // documents never span two chunks
            documents(text.substring(start, ends.get(c)), Split.isValidation(c, ends.size(), p.valFraction()), p, docs);
        }
        Map<String, List<ObjectNode>> files = new LinkedHashMap<>();
        for (String kind : KINDS) {
            for (int s = 0; s < SPLITS.size(); s++) {
                String split = SPLITS.get(s);
                List<Candidate> cands = new ArrayList<>();
                for (Doc d : docs) {
                    if (!d.split().equals(split)) continue;
                    for (int i = 0; i < d.sentences().size(); i++) {
                        if (kind.equals("choice") ? choice(d, i, p) != null : cloze(d, i, p) != null) cands.add(new Candidate(d, i));
                    }
                }
                shuffle(cands, new SplittableRandom(mix(p.seed(), 1 + s + 10L * KINDS.indexOf(kind))));
                List<Candidate> chosen = new ArrayList<>(cands.subList(0, Math.min(p.examples(), cands.size())));
                chosen.sort(Comparator.comparingInt((Candidate c) -> c.doc().id()).thenComparingInt(Candidate::sentence));
                List<ObjectNode> lines = new ArrayList<>();
                for (Candidate c : chosen) lines.add(kind.equals("choice") ? choice(c.doc(), c.sentence(), p) : cloze(c.doc(), c.sentence(), p));
                files.put(kind + "-" + split, lines);
            }
        }
        if (files.get("choice-test").isEmpty() && files.get("cloze-test").isEmpty()) {
            throw new DataException("the corpus yields no test examples (too short, or no sentences a model's window can hold)");
        }
        return new Made(files);
    }

    // ---------------------------------------------------------------- examples

    /** The next-sentence example ending at sentence i of d, or null when it does not qualify. */
    private static ObjectNode choice(Doc d, int i, Params p) {
        List<String> s = d.sentences();
        if (i < 1 || !fits(s.get(i), p)) return null;
        List<String> pool = new ArrayList<>();
        for (int j = 0; j < s.size(); j++) {
            if (j == i || j == i - 1 || !fits(s.get(j), p) || s.get(j).equals(s.get(i)) || pool.contains(s.get(j))) continue;
            pool.add(s.get(j));
        }
        if (pool.size() < 3) return null;
        SplittableRandom r = new SplittableRandom(mix(p.seed(), 1_000_003L * d.id() + i));
        shuffle(pool, r);
        List<String> choices = new ArrayList<>(List.of(s.get(i), pool.get(0), pool.get(1), pool.get(2)));
        shuffle(choices, r);
        ObjectNode o = JSON.createObjectNode().put("context", context(String.join(" ", s.subList(0, i)), p));
        var arr = o.putArray("choices");
        for (String c : choices) arr.add(" " + c);
        return o.put("label", choices.indexOf(s.get(i))).put("doc", d.id());
    }

    /** The last-word example of sentence i of d, or null. */
    private static ObjectNode cloze(Doc d, int i, Params p) {
        String sent = d.sentences().get(i);
        String[] words = sent.split(" ");
        if (words.length < 6) return null;
        String last = words[words.length - 1].replaceAll("[.,;:!?\"'’”)\\]]+$", "");
        if (!last.matches("\\p{L}{3,}")) return null;
        String before = String.join(" ", java.util.Arrays.asList(words).subList(0, words.length - 1));
        String passage = i == 0 ? before : String.join(" ", d.sentences().subList(0, i)) + " " + before;
        return JSON.createObjectNode().put("context", context(passage, p)).put("target", " " + last).put("doc", d.id());
    }

    private static boolean fits(String sentence, Params p) {
        return sentence.length() >= p.minChoiceChars() && sentence.length() <= p.maxChoiceChars();
    }

    /** The last contextChars characters of text, starting at a word. */
    static String context(String text, Params p) {
        if (text.length() <= p.contextChars()) return text;
        String tail = text.substring(text.length() - p.contextChars());
        int sp = tail.indexOf(' ');
        return sp >= 0 && sp + 1 < tail.length() ? tail.substring(sp + 1) : tail;
    }

    // ---------------------------------------------------------------- documents

    private static void documents(String region, boolean test, Params p, List<Doc> out) {
        List<String> sentences = sentences(region);
        for (int from = 0; from < sentences.size(); from += p.docSentences()) {
            int id = out.size();
            String split = test ? "test"
                    : new SplittableRandom(mix(p.seed(), -1 - id)).nextDouble() < p.taskVal() ? "val" : "train";
            out.add(new Doc(id, split, List.copyOf(sentences.subList(from, Math.min(sentences.size(), from + p.docSentences())))));
        }
    }

    /** Sentences of a text, white space collapsed; paragraph breaks (blank lines) end a sentence. */
    static List<String> sentences(String text) {
        List<String> out = new ArrayList<>();
        for (String para : text.split("\\n\\s*\\n")) {
            String t = para.replaceAll("\\s+", " ").trim();
            int start = 0;
            for (int i = 0; i < t.length(); i++) {
                char c = t.charAt(i);
                if (c != '.' && c != '!' && c != '?') continue;
                int j = i + 1;
                while (j < t.length() && "\"'’”)]".indexOf(t.charAt(j)) >= 0) j++;
                if (j + 1 < t.length() && t.charAt(j) == ' ') {
                    int k = j + 1;
                    while (k < t.length() && "\"'‘“(".indexOf(t.charAt(k)) >= 0) k++;
                    if (k < t.length() && Character.isUpperCase(t.charAt(k))) {
                        out.add(t.substring(start, j));
                        start = j + 1;
                        i = j;
                    }
                }
            }
            if (start < t.length()) out.add(t.substring(start));
        }
        return out;
    }

    private static long mix(long seed, long x) {
        long z = seed * 0x9E3779B97F4A7C15L + x * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static <T> void shuffle(List<T> l, SplittableRandom r) {
        for (int i = l.size() - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            T t = l.get(i);
            l.set(i, l.get(j));
            l.set(j, t);
        }
    }
}
