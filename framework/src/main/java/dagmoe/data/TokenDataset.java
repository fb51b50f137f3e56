package dagmoe.data;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A tokenised corpus split into train and validation token sequences ({@link Split}).
 *
 * <p>Text formats: the text is read ({@link TextSource}), split into train/validation text, the
 * tokenizer is made (a "bpe" one is trained on the train text only) unless one is given, and each
 * side is encoded into an int[]. Token shards (.bin): mapped ({@link TokenShards}), checked against
 * the tokenizer's vocabulary, split in token space; nothing is copied to the heap.
 */
public final class TokenDataset {
    private final Tokenizer tokenizer;
    private final TokenSeq train, val;
    private final String source;

    public TokenDataset(Tokenizer tokenizer, TokenSeq train, TokenSeq val, String source) {
        this.tokenizer = tokenizer;
        this.train = train;
        this.val = val;
        this.source = source;
    }

    /** Loads spec; tokenizer = null makes a new one from spec (training a bpe); otherwise that one is used (eval, resume). */
    public static TokenDataset load(DataSpec spec, Tokenizer tokenizer) {
        String format = TextSource.resolveFormat(spec.path(), spec.format());
        if (format.equals("bin")) return loadShards(spec, tokenizer);
        Decoding decoding = new Decoding(spec.encoding(), spec.onInvalidUtf8());
        String text = TextSource.read(spec.path(), spec.format(), spec.jsonlField(), spec.maxBytes(), decoding);
        if (decoding.replaced() > 0) {
            System.err.println("dagmoe: " + spec.path() + ": " + decoding.replaced() + " invalid UTF-8 sequence(s) replaced by U+FFFD "
                    + "(data.on_invalid_utf8 = replace)");
        }
        String[] split = Split.splitText(text, spec.valFraction());
        Tokenizer tok = tokenizer != null ? tokenizer : Tokenizers.create(spec.tokenizer(), split[0], spec.bpeVocab());
        int[] trainIds = tok.encode(split[0]);
        int[] valIds = split[1].isEmpty() ? new int[0] : tok.encode(split[1]);
        return new TokenDataset(tok, TokenSeq.of(trainIds), TokenSeq.of(valIds), spec.path() + " (" + format + ")");
    }

    private static TokenDataset loadShards(DataSpec spec, Tokenizer tokenizer) {
        if (tokenizer == null && spec.tokenizer().equals(BpeTokenizer.NAME)) {
            throw new DataException("data.tokenizer = bpe: .bin shards are already tokenised (use gpt2 for llm.c/nanoGPT shards)");
        }
        Tokenizer tok = tokenizer != null ? tokenizer : Tokenizers.create(spec.tokenizer(), null, 0);
        List<TokenSeq> shards = new ArrayList<>();
        long budget = spec.maxBytes() > 0 ? spec.maxBytes() : Long.MAX_VALUE;
        for (Path file : TokenShards.list(spec.path())) {
            if (budget <= 0) break;
            TokenShards.Mapped m = (TokenShards.Mapped) TokenShards.open(file);
            long n = Math.min(m.size(), budget / m.bytesPerToken());
            if (n <= 0) break;
            TokenSeq s = n < m.size() ? m.slice(0, n) : m;
            checkVocab(s, tok.vocabSize(), file, tok.name());
            shards.add(s);
            budget -= n * m.bytesPerToken();
        }
        TokenSeq all = TokenSeq.concat(shards);
        TokenSeq[] split = Split.splitTokens(all, spec.valFraction());
        return new TokenDataset(tok, split[0], split[1], spec.path() + " (bin, " + shards.size() + " shards)");
    }

    private static void checkVocab(TokenSeq s, int vocab, Path file, String tokName) {
        int[] buf = new int[1 << 16];
        for (long i = 0; i < s.size(); i += buf.length) {
            int n = (int) Math.min(buf.length, s.size() - i);
            s.read(i, buf, 0, n);
            for (int j = 0; j < n; j++) {
                if (buf[j] < 0 || buf[j] >= vocab) {
                    throw new DataException(file + ": token " + Integer.toUnsignedLong(buf[j]) + " at index " + (i + j)
                            + " is outside the vocabulary of tokenizer " + tokName + " (" + vocab + ")");
                }
            }
        }
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    public TokenSeq train() {
        return train;
    }

    public TokenSeq val() {
        return val;
    }

    /** For logs: the path and format. */
    public String source() {
        return source;
    }

    @Override
    public String toString() {
        return source + ": " + train.size() + " train + " + val.size() + " validation tokens, tokenizer " + tokenizer.name() + " (vocab " + tokenizer.vocabSize() + ")";
    }
}
