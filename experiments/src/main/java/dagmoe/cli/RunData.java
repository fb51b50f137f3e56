package dagmoe.cli;

import dagmoe.config.RunConfig;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.data.DataSpec;
import dagmoe.data.TokenDataset;
import dagmoe.data.Tokenizer;
import dagmoe.train.BatchSource;
import dagmoe.train.Trainer;

import java.util.List;

/**
 * The data of a run, built from its config: tokenizer, train/validation split, the seeded training
 * batch source and the fixed validation batches; for a reasoning task ({@link TaskData}) the test set and
 * the accuracy evaluator.
 */
record RunData(Tokenizer tokenizer, int vocabSize, int seqLen, BatchSource train, List<Batch> val, Trainer.Evaluator evaluator,
               String source) {
    // tokenizer: null for a reasoning task (its own small vocabulary of vocabSize symbols).

    static DataSpec spec(RunConfig c) {
        RunConfig.DataConfig d = c.data();
        return new DataSpec(d.path(), d.format(), d.tokenizer(), d.bpeVocab(), d.jsonlField(), d.valFraction(), d.maxBytes(),
                d.encoding(), d.onInvalidUtf8());
    }

    /** The last corpus loaded with a new tokenizer: compare's variants and seeds share it (same text, same ids). */
    private static DataSpec cachedSpec;
    private static TokenDataset cached;

    private static synchronized TokenDataset dataset(DataSpec spec, Tokenizer tokenizer) {
        if (tokenizer != null) return TokenDataset.load(spec, tokenizer);
        if (!spec.equals(cachedSpec)) {
            cached = null; // let the old corpus go before the new one is read
            cached = TokenDataset.load(spec, null);
            cachedSpec = spec;
        }
        return cached;
    }

    /** Loads the corpus; {@code tokenizer} null makes a new one (a bpe is trained on the training split). */
    static RunData load(RunConfig c, Tokenizer tokenizer) {
        if (c.data().task() != null) return TaskData.load(c);
        TokenDataset ds = dataset(spec(c), tokenizer);
        int seq = c.model().seqLen(), batch = c.train().batchSize();
        Batcher batcher = new Batcher(ds.train(), batch, seq, c.train().seed());
        List<Batch> val = Batcher.evalBatches(ds.val(), batch, seq, c.train().evalBatches());
        return new RunData(ds.tokenizer(), ds.tokenizer().vocabSize(), seq, BatchSource.of(batcher), val, null, ds.source());
    }
}
