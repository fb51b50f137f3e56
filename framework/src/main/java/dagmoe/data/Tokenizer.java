package dagmoe.data;

import java.nio.file.Path;

/**
 * Text <-> token ids. Implementations: {@link ByteTokenizer} ("byte", UTF-8 bytes, vocab 256),
 * {@link Gpt2Tokenizer} ("gpt2", GPT-2 BPE r50k_base, vocab 50257), {@link BpeTokenizer} ("bpe", a
 * byte-level BPE trained on the training split). {@code decode(encode(s)).equals(s)} for every
 * well-formed string s (no lone surrogates).
 *
 * <p>A run folder stores its tokenizer as {@code tokenizer.json} ({@link #save}); {@link
 * Tokenizers#load} reads it back, so {@code eval} and {@code generate} use the same ids as training.
 */
public interface Tokenizer {
    /** The file name inside a run folder. */
    String FILE_NAME = "tokenizer.json";

    int[] encode(String text);

    /** Ids outside [0, vocabSize) throw IllegalArgumentException; invalid UTF-8 becomes U+FFFD. */
    String decode(int[] ids);

    int vocabSize();

    /** "byte", "gpt2" or "bpe" (the config's data.tokenizer value). */
    String name();

    /** Writes {@code dir/tokenizer.json} (creating dir when needed). */
    void save(Path dir);
}
