package dagmoe.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code dagmoe finetune}: train from another run's checkpoint (fresh optimizer and schedule) into a new run folder. */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = {"Fine-tune: initialise the config's model from a run's checkpoint, then train it on the config's",
                "data or task with a fresh optimizer and schedule into an ordinary run folder (resumable with --resume).",
                "The model section must describe the source's architecture; a changed model.aggregator (e.g. sum -> dag)",
                "upcycles: the source's tensors initialise everything they name, the new aggregator tensors start as in",
                "pre-training (dag's zero up-projection: the first step computes exactly what the source computed).",
                "Same as train with --set finetune.from=RUN --set finetune.checkpoint=STEP."},
        footer = {"", "Exit codes: 0 done, 1 training diverged or internal failure, 2 bad input (config, data, checkpoint,",
                "a tensor whose name or shape the config's model does not have, arguments)."})
public final class FinetuneCommand implements Callable<Integer> {
    @Option(names = "--from", paramLabel = "RUN_DIR", description = "the run whose checkpoint initialises the model (finetune.from)")
    Path from;

    @Option(names = "--checkpoint", paramLabel = "STEP", description = "step of the source's checkpoint (default: its latest)")
    Integer checkpoint;

    @Mixin
    RunOptions run = new RunOptions();

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (from == null && !run.resume) throw new CliSupport.BadInput("--from RUN_DIR is required (or --resume --out RUN)");
            if (checkpoint != null && checkpoint < 1) throw new CliSupport.BadInput("--checkpoint " + checkpoint + ": must be >= 1");
            List<String> all = run.overrides();
            if (from != null) all.add("finetune.from=" + from);
            if (checkpoint != null) all.add("finetune.checkpoint=" + checkpoint);
            return TrainCommand.execute(run, all);
        });
    }
}
