package dagmoe.config;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.config.field.Field;
import dagmoe.config.field.Fields;
import dagmoe.config.field.Key;
import dagmoe.model.ModelConfig;
import dagmoe.train.TrainConfig;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every key a run config may hold, with its type, default, allowed range and meaning, as declared once on the
 * section records ({@link Field} on {@link RunConfig.About}, {@link ModelConfig}, {@link TrainConfig},
 * {@link RunConfig.DataConfig}, {@link RunConfig.BackendConfig}, {@link RunConfig.CompareConfig}; see
 * {@link Fields}). This table is derived from them: the loader rejects keys that are not here, fills in the
 * defaults, range-checks every value, and {@code dagmoe train --list-keys} prints it ({@link #describe()}).
 * To add a key, add an annotated component to its section's record; nothing here changes.
 */
public final class ConfigSchema {

    /** The section records, in the order --list-keys prints them. */
    private static final List<Class<? extends Record>> SECTIONS = List.of(RunConfig.About.class, ModelConfig.class,
            TrainConfig.class, RunConfig.DataConfig.class, RunConfig.BackendConfig.class, RunConfig.FinetuneConfig.class,
            RunConfig.CompareConfig.class);

    private static final Map<String, Key> KEYS = new LinkedHashMap<>();

    static {
        for (Class<? extends Record> section : SECTIONS) {
            for (Key k : Fields.of(section)) {
                if (KEYS.put(k.path(), k) != null) throw new IllegalStateException(k.path() + ": declared twice");
            }
        }
    }

    private ConfigSchema() {}

    public static Map<String, Key> keys() {
        return Collections.unmodifiableMap(KEYS);
    }

    public static Key key(String path) {
        return KEYS.get(path);
    }

    /** True when {@code path} is a section that holds keys (e.g. "model", "model.dag"). */
    public static boolean isSection(String path) {
        String prefix = path + ".";
        for (String k : KEYS.keySet()) if (k.startsWith(prefix)) return true;
        return path.equals("compare");
    }

    /** The valid key nearest to {@code wrong} by edit distance (ties: the first in schema order). */
    public static String nearest(String wrong) {
        List<String> candidates = new ArrayList<>(KEYS.keySet());
        candidates.add("compare.variants");
        String best = null;
        int bestD = Integer.MAX_VALUE;
        for (String k : candidates) {
            int d = levenshtein(wrong, k);
            if (d < bestD) {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) prev[j] = j;
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev; prev = cur; cur = t;
        }
        return prev[b.length()];
    }

    /** A Markdown table of every key: the documentation of the config format. */
    public static String describe() {
        StringBuilder sb = new StringBuilder("| key | type | default | range | meaning |\n|---|---|---|---|---|\n");
        for (Key k : KEYS.values()) {
            Object d = k.defaultValue();
            sb.append("| `").append(k.path()).append("` | ").append(k.type().name().toLowerCase()).append(" | ")
                    .append(d instanceof JsonNode ? d.toString() : String.valueOf(d)).append(" | ")
                    .append(k.rangeText()).append(" | ").append(k.doc()).append(" |\n");
        }
        sb.append("| `compare.variants` | list | [] | | [{\"name\": ..., \"set\": {\"dotted.key\": value, ...}}] |\n");
        return sb.toString();
    }
}
