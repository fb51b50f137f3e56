package dagmoe.eval;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.data.Split;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class TaskMakerTest {
    /** A corpus of numbered sentences (each sentence unique, so its position is known), with paragraphs. */
    static String corpus() {
        String[] w = {"whale", "sea", "ship", "captain", "harpoon", "sailor", "storm", "ocean", "boat", "crew", "deep", "white"};
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 6000; i++) {
            sb.append("Sentence ").append(i);
            int n = 4 + r.nextInt(8);
            for (int k = 0; k < n; k++) sb.append(' ').append(w[r.nextInt(w.length)]);
            sb.append(i % 7 == 0 ? "!" : ".").append(i % 9 == 8 ? "\n\n" : i % 3 == 2 ? "\n" : " ");
        }
        return sb.toString();
    }

    @Test
    void reproducibleDisjointAndTestFromTheValidationText() {
        String text = corpus();
        TaskMaker.Params p = TaskMaker.Params.defaults(7, 300);
        TaskMaker.Made a = TaskMaker.make(text, p), b = TaskMaker.make(text, p);
        assertEquals(a.files().toString(), b.files().toString(), "same seed, same files");
        assertNotEquals(a.files().toString(), TaskMaker.make(text, TaskMaker.Params.defaults(8, 300)).files().toString());

        String val = Split.splitText(text, 0.1)[1].replaceAll("\\s+", " "), flat = text.replaceAll("\\s+", " ");
        Map<Integer, String> docSplit = new HashMap<>();
        for (var e : a.files().entrySet()) {
            String split = e.getKey().substring(e.getKey().indexOf('-') + 1);
            assertFalse(e.getValue().isEmpty(), e.getKey());
            assertTrue(e.getValue().size() <= 300);
            int[] labels = new int[4];
            for (ObjectNode o : e.getValue()) {
                int doc = o.get("doc").asInt();
                String before = docSplit.putIfAbsent(doc, split);
                assertTrue(before == null || before.equals(split), "document " + doc + " in " + before + " and " + split);
                String ctx = o.get("context").asText();
                if (split.equals("test")) assertTrue(val.contains(ctx), "a test context comes from the validation text: " + ctx);
                if (o.has("choices")) {
                    Set<String> distinct = new HashSet<>();
                    o.get("choices").forEach(c -> distinct.add(c.asText()));
                    assertEquals(4, distinct.size());
                    String right = o.get("choices").get(o.get("label").asInt()).asText();
                    // the right choice is the sentence that follows the context in the corpus
                    assertTrue(flat.contains(ctx + right), ctx + " |" + right);
                    labels[o.get("label").asInt()]++;
                } else {
                    String t = o.get("target").asText();
                    assertTrue(t.matches(" \\p{L}{3,}"), t);
                    assertTrue(flat.contains(ctx + t), ctx + " |" + t);
                }
            }
            if (e.getKey().startsWith("choice")) {
                for (int l : labels) assertTrue(l > e.getValue().size() / 8, "labels spread over the 4 positions: " + java.util.Arrays.toString(labels));
            }
        }
    }

    @Test
    void sentencesEndAtPunctuationBeforeACapitalAndAtParagraphs() {
        assertEquals(List.of("Call me Ishmael.", "Some years ago—never mind how long.", "“Is it so?” he said.", "New paragraph", "Here."),
                TaskMaker.sentences("Call me Ishmael. Some years ago—never\nmind how long. “Is it so?” he said.\n\nNew paragraph\n\nHere."));
        assertEquals(List.of("Mr. smith went on."), TaskMaker.sentences("Mr. smith went on."));
    }
}
