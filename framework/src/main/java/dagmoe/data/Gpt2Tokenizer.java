package dagmoe.data;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import java.nio.file.Path;
import java.util.Map;

/**
 * GPT-2's BPE (tiktoken's r50k_base) through jtokkit; the merge table ships inside the jtokkit jar.
 * Text is encoded as ordinary text: a literal "<|endoftext|>" in a corpus is spelled out, not
 * mapped to the special id {@link #END_OF_TEXT}.
 */
public final class Gpt2Tokenizer implements Tokenizer {
    public static final String NAME = "gpt2";
    public static final int VOCAB_SIZE = 50257;
    /** "<|endoftext|>", the document separator of llm.c / nanoGPT shards. */
    public static final int END_OF_TEXT = 50256;

    private static final class Holder {
        static final Encoding ENCODING = Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.R50K_BASE);
    }

    @Override
    public int[] encode(String text) {
        return Holder.ENCODING.encodeOrdinary(text).toArray();
    }

    @Override
    public String decode(int[] ids) {
        IntArrayList list = new IntArrayList(ids.length);
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException("gpt2 tokenizer: id " + id + " at " + i + " is outside [0, " + VOCAB_SIZE + ")");
            }
            if (id == END_OF_TEXT) { // jtokkit's ordinary decoder has no entry for the special id
                flush(list, out);
                out.append("<|endoftext|>");
            } else {
                list.add(id);
            }
        }
        flush(list, out);
        return out.toString();
    }

    private static void flush(IntArrayList list, StringBuilder out) {
        if (!list.isEmpty()) {
            out.append(Holder.ENCODING.decode(list));
            list.clear();
        }
    }

    @Override
    public int vocabSize() {
        return VOCAB_SIZE;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public void save(Path dir) {
        Tokenizers.writeJson(dir, Map.of("type", NAME, "encoding", "r50k_base", "vocab_size", VOCAB_SIZE));
    }
}
