package dagmoe.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.io.AtomicWrite;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Creating tokenizers by config name, and saving/loading them as {@code tokenizer.json} in a run folder. */
public final class Tokenizers {
    /** The config values of data.tokenizer. */
    public static final List<String> NAMES = List.of(ByteTokenizer.NAME, Gpt2Tokenizer.NAME, BpeTokenizer.NAME);
    private static final ObjectMapper JSON = new ObjectMapper();

    private Tokenizers() {}

    /**
     * The tokenizer named by data.tokenizer. "bpe" trains on trainText with vocabulary bpeVocab;
     * "byte" and "gpt2" ignore both.
     */
    public static Tokenizer create(String name, String trainText, int bpeVocab) {
        switch (name == null ? "" : name) {
            case ByteTokenizer.NAME:
                return new ByteTokenizer();
            case Gpt2Tokenizer.NAME:
                return new Gpt2Tokenizer();
            case BpeTokenizer.NAME:
                if (bpeVocab < 256) throw new DataException("data.bpe_vocab = " + bpeVocab + ": must be >= 256 (the 256 byte tokens plus merges)");
                if (trainText == null || trainText.isEmpty()) throw new DataException("data.tokenizer = bpe: no training text to learn merges from");
                return BpeTokenizer.train(trainText, bpeVocab);
            default:
                throw new DataException("data.tokenizer = " + name + ": must be one of " + NAMES);
        }
    }

    /** Reads {@code dir/tokenizer.json} written by {@link Tokenizer#save}. */
    public static Tokenizer load(Path dir) {
        Path file = dir.resolve(Tokenizer.FILE_NAME);
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": no tokenizer file");
        } catch (IOException e) {
            if (!Files.exists(file)) throw new DataException(file + ": no tokenizer file");
            throw new DataException(file + ": not a tokenizer JSON file (" + e.getMessage() + ")", e);
        }
        if (root == null || !root.isObject()) throw new DataException(file + ": not a JSON object");
        String type = root.path("type").asText("");
        Tokenizer t;
        switch (type) {
            case ByteTokenizer.NAME:
                t = new ByteTokenizer();
                break;
            case Gpt2Tokenizer.NAME:
                t = new Gpt2Tokenizer();
                break;
            case BpeTokenizer.NAME: {
                JsonNode merges = root.get("merges");
                if (merges == null || !merges.isArray()) throw new DataException(file + ": field \"merges\" missing or not an array");
                int[][] m = new int[merges.size()][];
                for (int r = 0; r < m.length; r++) {
                    JsonNode pair = merges.get(r);
                    if (!pair.isArray() || pair.size() != 2 || !pair.get(0).isInt() || !pair.get(1).isInt()) {
                        throw new DataException(file + ": merges[" + r + "] must be a pair of integer ids");
                    }
                    m[r] = new int[] {pair.get(0).asInt(), pair.get(1).asInt()};
                }
                try {
                    t = BpeTokenizer.fromMerges(m);
                } catch (IllegalArgumentException e) {
                    throw new DataException(file + ": " + e.getMessage(), e);
                }
                break;
            }
            default:
                throw new DataException(file + ": field \"type\" = \"" + type + "\": must be one of " + NAMES);
        }
        JsonNode vs = root.get("vocab_size");
        if (vs != null && vs.asInt() != t.vocabSize()) {
            throw new DataException(file + ": field \"vocab_size\" = " + vs.asInt() + " but the tokenizer has " + t.vocabSize());
        }
        return t;
    }

    static void writeJson(Path dir, Map<String, Object> json) {
        Path file = dir.resolve(Tokenizer.FILE_NAME);
        try {
            AtomicWrite.writeBytes(file, JSON.writeValueAsBytes(json));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
