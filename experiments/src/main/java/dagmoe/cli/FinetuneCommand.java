package dagmoe.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
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

    @Option(names = "--config", paramLabel = "FILE", description = "JSON config of the fine-tuning run (optional with --resume)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key, e.g. --set train.freeze=attention,router (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (default runs/<config name>-<aggregator>-s<seed>)")
    Path out;

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device (overrides backend.device)")
    String device;

    @Option(names = "--until", paramLabel = "STEP", description = "stop after this step with a checkpoint, as an interruption would")
    Integer until;

    @Option(names = "--resume", description = "continue the fine-tuning run in --out from its last complete checkpoint")
    boolean resume;

    @Override
    public Integer call() {
        return CliSupport.guard(() -> {
            if (from == null && !resume) throw new CliSupport.BadInput("--from RUN_DIR is required (or --resume --out RUN)");
            if (checkpoint != null && checkpoint < 1) throw new CliSupport.BadInput("--checkpoint " + checkpoint + ": must be >= 1");
            List<String> all = backendOptions.addTo(new ArrayList<>(sets));
            if (device != null) all.add("backend.device=" + device);
            if (from != null) all.add("finetune.from=" + from);
            if (checkpoint != null) all.add("finetune.checkpoint=" + checkpoint);
            return TrainCommand.execute(config, all, out, resume, until);
        });
    }
}
