package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.config.RunConfig;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.data.TokenDataset;
import dagmoe.eval.TaskFile;
import dagmoe.eval.TaskScorer;
import dagmoe.model.StepResult;
import dagmoe.report.Stats;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code dagmoe eval}: loss and perplexity of a run's latest checkpoint on its own or any other dataset, or downstream task scores. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = {"Loss and perplexity of a run's latest checkpoint on the validation split of its data,",
                "or of another dataset (--data, e.g. an out-of-domain corpus; the run's tokenizer is used).",
                "With --task FILE.jsonl: downstream scores instead. Multiple choice ({\"context\", \"choices\", \"label\"}):",
                "acc and acc_norm (log-likelihood of each choice given the context; acc_norm divides it by the choice's",
                "length in characters); cloze ({\"context\", \"target\"}): greedy exact match. Each with its mean and",
                "95% confidence interval over the examples. Make task files with 'dagmoe tasks make'."},
        footer = {"", "Exit codes: 0 done, 1 internal failure, 2 bad input (run folder, checkpoint, data, a bad task line: named)."})
public final class EvalCommand implements Callable<Integer> {
    @Mixin
    RunModel.Options trained = new RunModel.Options();

    @Option(names = "--data", paramLabel = "PATH", description = "dataset to evaluate on (file, folder, .jsonl, .zip, .bin, builtin:europarl); default: the run's own")
    String data;

    @Option(names = "--format", description = "format of --data: auto | text | folder | jsonl | bin | zip (default auto)")
    String format;

    @Option(names = "--batches", paramLabel = "N", description = "evaluation batches (default train.eval_batches; 0 = the whole split)")
    Integer batches;

    @Option(names = "--json", description = "print one JSON object (per task) instead of a line of text")
    boolean json;

    @Option(names = "--task", paramLabel = "FILE", description = "score a downstream task file (JSON Lines; repeatable)")
    List<Path> tasks = new ArrayList<>();

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (!tasks.isEmpty()) return scoreTasks();
            RunModel rm = trained.load();
            RunConfig cfg = rm.config();
            if (data != null) {
                Map<String, Object> set = new LinkedHashMap<>();
                set.put("data.path", data);
                set.put("data.format", format != null ? format : "auto");
                set.put("data.task", null);
                set.put("data.task_params", new ObjectMapper().createObjectNode());
                set.put("train.loss_on", "all");
                cfg = cfg.with(set, "--data " + data);
            } else if (format != null) {
                throw new CliSupport.BadInput("--format needs --data");
            }
            if (batches != null && batches < 0) throw new CliSupport.BadInput("--batches " + batches + ": must be >= 0");
            int n = batches != null ? batches : cfg.train().evalBatches();
            Map<String, Double> metrics = new LinkedHashMap<>();
            if (cfg.data().task() != null) {
                RunData rd = RunData.load(cfg, rm.tokenizer());
                metrics.put("val_loss", loss(rm, rd.val()));
                if (rd.evaluator() != null) metrics.putAll(rd.evaluator().evaluate(rm.model()));
            } else {
                TokenDataset ds = TokenDataset.load(RunData.spec(cfg), rm.tokenizer());
                List<Batch> val = Batcher.evalBatches(ds.val(), cfg.train().batchSize(), cfg.model().seqLen(), n);
                metrics.put("val_loss", loss(rm, val));
            }
            metrics.put("val_ppl", Math.exp(metrics.get("val_loss")));
            String source = data != null ? data : String.valueOf(cfg.data().task() != null ? "task:" + cfg.data().task() : cfg.data().path());
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode().put("run", trained.run.toString()).put("step", rm.step())
                        .put("data", source);
                metrics.forEach(o::put);
                System.out.println(o);
            } else {
                StringBuilder sb = new StringBuilder(trained.run + " @ step " + rm.step() + " on " + source);
                metrics.forEach((k, v) -> sb.append(String.format(" | %s %.4f", k, v)));
                System.out.println(sb);
            }
            return CliSupport.OK;
        });
    }

    private int scoreTasks() {
        if (data != null || format != null || batches != null) throw new CliSupport.BadInput("--task scores a task file: --data, --format and --batches do not apply");
        List<TaskFile> files = new ArrayList<>();
        for (Path t : tasks) files.add(TaskFile.read(t)); // every file checked before the model is loaded
        RunModel rm = trained.load();
        if (rm.tokenizer() == null) {
            throw new CliSupport.BadInput(trained.run + " was trained on a reasoning task (no text tokenizer): --task needs a text model");
        }
        ObjectMapper om = new ObjectMapper();
        for (TaskFile f : files) {
            TaskScorer.Scores sc = TaskScorer.score(rm.model(), rm.tokenizer(), f);
            ObjectNode o = om.createObjectNode().put("run", trained.run.toString()).put("step", rm.step()).put("task", f.file().toString())
                    .put("kind", f.kind() == TaskFile.Kind.CHOICE ? "choice" : "cloze").put("examples", sc.acc().length);
            o.put("acc", Stats.mean(sc.acc())).put("acc_ci95", Stats.ci95(sc.acc()));
            if (sc.accNorm() != null) o.put("acc_norm", Stats.mean(sc.accNorm())).put("acc_norm_ci95", Stats.ci95(sc.accNorm()));
            if (json) {
                System.out.println(o);
            } else {
                StringBuilder sb = new StringBuilder(String.format("%s @ step %d on %s (%s, %d examples) | acc %.4f ± %.4f", trained.run,
                        rm.step(), f.file(), o.get("kind").asText(), sc.acc().length, o.get("acc").asDouble(), o.get("acc_ci95").asDouble()));
                if (sc.accNorm() != null) sb.append(String.format(" | acc_norm %.4f ± %.4f", o.get("acc_norm").asDouble(), o.get("acc_norm_ci95").asDouble()));
                System.out.println(sb);
            }
        }
        return CliSupport.OK;
    }

    static double loss(RunModel rm, List<Batch> val) {
        double sum = 0;
        long n = 0;
        for (Batch b : val) {
            StepResult r = rm.model().forward(b.inputs(), b.targets(), b.batchSize(), b.seqLen());
            if (r.tokens() > 0) {
                sum += r.loss() * r.tokens();
                n += r.tokens();
            }
        }
        return n > 0 ? sum / n : Double.NaN;
    }
}
