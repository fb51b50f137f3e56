package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.io.AtomicWrite;
import dagmoe.data.TextSource;
import dagmoe.eval.TaskMaker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code dagmoe tasks make}: downstream task files from a corpus. */
@Command(name = "tasks", mixinStandardHelpOptions = true,
        description = "Downstream evaluation tasks (score them with 'dagmoe eval --run DIR --task FILE').",
        subcommands = {TasksCommand.Make.class})
public final class TasksCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.err.println("dagmoe tasks: give a subcommand (make); see dagmoe tasks --help");
        return CliSupport.BAD_INPUT;
    }

    @Command(name = "make", mixinStandardHelpOptions = true,
            description = {"Build reproducible task files from a corpus into --out: choice-{train,val,test}.jsonl",
                    "(HellaSwag-like: pick the true next sentence among four sentences of the same document) and",
                    "cloze-{train,val,test}.jsonl (Lambada-like: the last word of a passage, scored by greedy exact match),",
                    "plus tasks.json (corpus, parameters, counts). Splits are disjoint by document; test comes from the",
                    "corpus's validation chunks (data.val_fraction = --val-fraction), text a model trained on the corpus never saw.",
                    "The reasoning tasks (data.task = hops | compose | lis) serve as fine-tuning targets (dagmoe finetune)."},
            footer = {"", "Exit codes: 0 done, 1 internal failure, 2 bad input (corpus, arguments, a non-empty --out)."})
    static final class Make implements Callable<Integer> {
        @Option(names = "--corpus", required = true, paramLabel = "PATH", description = "text file, folder, .jsonl, .zip or builtin:europarl")
        String corpus;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "folder for the task files (must be empty or new)")
        Path out;

        @Option(names = "--seed", description = "seed of the sampling, distractors and choice order (default 1)")
        long seed = 1;

        @Option(names = "--examples", paramLabel = "N", description = "examples per kind and split, at most (default 500)")
        int examples = 500;

        @Option(names = "--val-fraction", paramLabel = "F", description = "the corpus's validation share, as data.val_fraction (default 0.1)")
        double valFraction = 0.1;

        @Option(names = "--max-bytes", paramLabel = "N", description = "read at most N bytes of the corpus, as data.max_bytes (default 0 = all)")
        long maxBytes;

        @Option(names = "--context-chars", paramLabel = "N", description = "context length in characters, at most (default 200)")
        int contextChars = 200;

        @Option(names = "--max-choice-chars", paramLabel = "N", description = "longest sentence used as a choice (default 80; keep it within the model's window)")
        int maxChoiceChars = 80;

        @Override
        public Integer call() {
            return CliSupport.guard(() -> {
                if (examples < 1) throw new CliSupport.BadInput("--examples " + examples + ": must be >= 1");
                if (!(valFraction > 0 && valFraction <= 0.5)) throw new CliSupport.BadInput("--val-fraction " + valFraction + ": must be in (0, 0.5]");
                if (contextChars < 1) throw new CliSupport.BadInput("--context-chars " + contextChars + ": must be >= 1");
                if (maxChoiceChars < 16) throw new CliSupport.BadInput("--max-choice-chars " + maxChoiceChars + ": must be >= 16");
                if (!CliSupport.isEmptyOrMissing(out)) throw new CliSupport.BadInput(out + " is not empty: choose another --out; nothing was written");
                String text = TextSource.read(corpus, "auto", "text", maxBytes);
                TaskMaker.Params p = new TaskMaker.Params(seed, examples, valFraction, 0.1, 40, contextChars, 16, maxChoiceChars);
                TaskMaker.Made made = TaskMaker.make(text, p);
                ObjectMapper om = new ObjectMapper();
                ObjectNode manifest = om.createObjectNode().put("corpus", corpus).put("max_bytes", maxBytes).put("seed", seed)
                        .put("examples", examples).put("val_fraction", valFraction).put("task_val_share", p.taskVal())
                        .put("doc_sentences", p.docSentences()).put("context_chars", contextChars)
                        .put("min_choice_chars", p.minChoiceChars()).put("max_choice_chars", maxChoiceChars);
                ObjectNode counts = manifest.putObject("counts");
                try {
                    Files.createDirectories(out);
                    for (Map.Entry<String, List<ObjectNode>> e : made.files().entrySet()) {
                        StringBuilder sb = new StringBuilder();
                        for (ObjectNode line : e.getValue()) sb.append(om.writeValueAsString(line)).append('\n');
                        AtomicWrite.writeString(out.resolve(e.getKey() + ".jsonl"), sb.toString());
                        counts.put(e.getKey(), e.getValue().size());
                    }
                    AtomicWrite.writeString(out.resolve("tasks.json"),
                            om.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(manifest) + "\n");
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot write " + out + ": " + e.getMessage(), e);
                }
                System.out.println(out + ": " + counts);
                return CliSupport.OK;
            });
        }
    }
}
