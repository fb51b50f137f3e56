package dagmoe.cli;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.config.RunConfig;
import dagmoe.data.Tokenizer;
import dagmoe.data.Tokenizers;
import dagmoe.model.Model;
import dagmoe.train.CheckpointException;
import dagmoe.train.Checkpoints;
import dagmoe.train.Trainer;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** A trained run loaded for eval and generate: its resolved config, tokenizer (null for a task) and the latest checkpoint's weights. */
record RunModel(RunConfig config, Tokenizer tokenizer, Model model, long step, Path checkpoint) {

    /** {@code --run} with {@code --backend} and {@code --threads}: the options of the commands that load a trained run (a picocli mixin). */
    static final class Options {
        @Option(names = "--run", required = true, paramLabel = "DIR", description = "run folder (config.json, tokenizer.json, checkpoints/)")
        Path run;

        @Mixin
        BackendOptions backendOptions = new BackendOptions();

        /** The run's latest checkpoint on --backend / --threads (default: the run's own). */
        RunModel load() {
            return RunModel.load(run, backendOptions.backend, backendOptions.threads);
        }
    }

    static RunModel load(Path run, String backend, Integer threads) {
        CliSupport.requireRun(run);
        RunConfig cfg = TrainCommand.savedConfig(run, List.of());
        CliSupport.checkFootprint(cfg, false);
        Path ckpt = new Checkpoints(run).newest().orElseThrow(() ->
                new CheckpointException(run.resolve("checkpoints") + ": no complete checkpoint (train the run first)"));
        Checkpoints.Loaded loaded = Checkpoints.load(ckpt);
        Tokenizer tok = cfg.data().task() == null ? Tokenizers.load(run) : null; // a task has its own symbols
        Backend be = CliSupport.input(() -> Backends.create(backend != null ? backend : cfg.backend().name(),
                threads != null ? threads : cfg.backend().threads(), cfg.backend().device()));
        Model model = CliSupport.input(() -> new Model(cfg.model(), be, cfg.train().seed()));
        Trainer.loadWeights(loaded, model.parameters());
        return new RunModel(cfg, tok, model, loaded.step(), ckpt);
    }
}
