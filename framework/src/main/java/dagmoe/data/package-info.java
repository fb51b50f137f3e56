/**
 * Data: tokenizers, corpora, the train/validation split, batching, and (in {@code dagmoe.data.tasks})
 * the synthetic reasoning tasks.
 *
 * <h2>Config "data" section -&gt; this package</h2>
 * <pre>
 *   DataSpec spec = new DataSpec(path, format, tokenizer, bpe_vocab, jsonl_field, val_fraction, max_bytes);
 *   TokenDataset ds = TokenDataset.load(spec, null);          // train: makes (bpe: trains) the tokenizer
 *   ds.tokenizer().save(runDir);                               // runDir/tokenizer.json
 *   Batcher train = new Batcher(ds.train(), B, S, seed);       // random windows; state = train.cursor()
 *   List&lt;Batch&gt; val = Batcher.evalBatches(ds.val(), B, S, eval_batches);
 *   // eval / generate / resume:
 *   Tokenizer tok = Tokenizers.load(runDir);
 *   TokenDataset again = TokenDataset.load(spec, tok);         // same ids, same split
 * </pre>
 *
 * <h2>Corpora (data.path, data.format)</h2>
 * A text file (.gz gunzipped on the fly), a folder of text files, JSONL with a text field, a zip of
 * sources ($JAVA_HOME/lib/src.zip), llm.c / nanoGPT token shards (.bin, memory-mapped), or
 * {@code builtin:europarl}, the Europarl sample unpacked by the build (see {@link dagmoe.data.Builtins}).
 * Details in {@link dagmoe.data.TextSource} and {@link dagmoe.data.TokenShards}. Every input error is
 * a {@link dagmoe.data.DataException} (an IllegalArgumentException) naming the file, line or field.
 *
 * <h2>Split</h2>
 * Contiguous chunks of the text (or tokens), every 1/val_fraction-th chunk held out; it depends only on
 * the corpus and val_fraction ({@link dagmoe.data.Split}).
 */
package dagmoe.data;
