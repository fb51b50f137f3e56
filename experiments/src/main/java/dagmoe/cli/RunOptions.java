package dagmoe.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** The options of a training run, shared by {@code train} and {@code finetune} (a picocli mixin). */
final class RunOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "JSON config (optional with --resume: the run's config.json)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (default runs/<config name>-<aggregator>-s<seed>)")
    Path out;

    @Mixin
    ConfigOverrides overrides = new ConfigOverrides();

    @Mixin
    DeviceOptions devices = new DeviceOptions();

    @Option(names = "--until", paramLabel = "STEP", description = "stop after this step with a checkpoint, as an interruption would")
    Integer until;

    @Option(names = "--resume", description = "continue the run in --out from its newest undamaged checkpoint to train.steps "
            + "(a damaged newer one is reported in one line and skipped)")
    boolean resume;

    @Option(names = "--strict", description = "with --resume: stop with exit code 2 when the newest checkpoint is damaged, instead of falling back to an older one")
    boolean strict;

    /** The --set overrides, then --backend, --threads, --device, --devices and --device-weights as config overrides. */
    List<String> overrides() {
        return devices.addTo(overrides.list());
    }
}
