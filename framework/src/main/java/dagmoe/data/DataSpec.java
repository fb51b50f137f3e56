package dagmoe.data;

/**
 * The config's "data" section as the data package needs it (snake_case JSON key in brackets).
 *
 * @param path        [path] a file, folder, zip, .jsonl, .bin shard / glob / folder, or builtin:europarl
 * @param format      [format] auto | text | folder | jsonl | bin | zip
 * @param tokenizer   [tokenizer] byte | gpt2 | bpe
 * @param bpeVocab    [bpe_vocab] vocabulary of the trained BPE (&gt;= 256), used when tokenizer = bpe
 * @param jsonlField  [jsonl_field] the text field of a JSONL record ("text")
 * @param valFraction [val_fraction] share of the corpus held out for validation, in [0, 0.5] (0.1)
 * @param maxBytes    [max_bytes] read at most this many bytes of text (of token data for .bin); 0 = all
 * @param encoding    [encoding] utf-8 | latin-1
 * @param onInvalidUtf8 [on_invalid_utf8] error (exit 2 naming the byte offset) | replace (U+FFFD, counted)
 */
public record DataSpec(String path, String format, String tokenizer, int bpeVocab, String jsonlField, double valFraction, long maxBytes,
                       String encoding, String onInvalidUtf8) {
    public DataSpec(String path, String format, String tokenizer, int bpeVocab, String jsonlField, double valFraction, long maxBytes) {
        this(path, format, tokenizer, bpeVocab, jsonlField, valFraction, maxBytes, "utf-8", "error");
    }

    public DataSpec {
        new Decoding(encoding, onInvalidUtf8); // validates both
        if (format == null || format.isEmpty()) format = "auto";
        if (tokenizer == null || tokenizer.isEmpty()) tokenizer = ByteTokenizer.NAME;
        if (jsonlField == null || jsonlField.isEmpty()) jsonlField = "text";
        if (path == null || path.isBlank()) throw new DataException("data.path is empty: give a file, a folder, a glob of .bin shards or builtin:europarl");
        if (!TextSource.FORMATS.contains(format)) throw new DataException("data.format = " + format + ": must be one of " + TextSource.FORMATS);
        if (!Tokenizers.NAMES.contains(tokenizer)) throw new DataException("data.tokenizer = " + tokenizer + ": must be one of " + Tokenizers.NAMES);
        if (tokenizer.equals(BpeTokenizer.NAME) && bpeVocab < 256) throw new DataException("data.bpe_vocab = " + bpeVocab + ": must be >= 256 (the 256 byte tokens plus merges)");
        if (!(valFraction >= 0 && valFraction <= 0.5)) throw new DataException("data.val_fraction = " + valFraction + ": must be in [0, 0.5]");
        if (maxBytes < 0) throw new DataException("data.max_bytes = " + maxBytes + ": must be >= 0 (0 = all)");
    }

    /** Defaults: auto format, byte tokenizer, bpe_vocab 1024, field "text", val_fraction 0.1, everything read. */
    public static DataSpec of(String path) {
        return new DataSpec(path, "auto", ByteTokenizer.NAME, 1024, "text", 0.1, 0);
    }

    public DataSpec withTokenizer(String name, int vocab) {
        return new DataSpec(path, format, name, vocab, jsonlField, valFraction, maxBytes, encoding, onInvalidUtf8);
    }

    public DataSpec withMaxBytes(long bytes) {
        return new DataSpec(path, format, tokenizer, bpeVocab, jsonlField, valFraction, bytes, encoding, onInvalidUtf8);
    }

    public DataSpec withValFraction(double f) {
        return new DataSpec(path, format, tokenizer, bpeVocab, jsonlField, f, maxBytes, encoding, onInvalidUtf8);
    }

    public DataSpec withFormat(String f) {
        return new DataSpec(path, f, tokenizer, bpeVocab, jsonlField, valFraction, maxBytes, encoding, onInvalidUtf8);
    }
}
