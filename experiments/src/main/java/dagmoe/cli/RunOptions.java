package dagmoe.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The options of a training run, shared by {@code train} and {@code finetune} (a picocli mixin). */
final class RunOptions {
    @Option(names = "--config", paramLabel = "FILE", description = "JSON config (optional with --resume: the run's config.json)")
    Path config;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key by its dotted path, e.g. --set train.steps=200 (repeatable)")
    List<String> sets = new ArrayList<>();

    @Option(names = "--out", paramLabel = "DIR", description = "run folder (default runs/<config name>-<aggregator>-s<seed>)")
    Path out;

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device, see 'dagmoe devices' (overrides backend.device)")
    String device;

    @Option(names = "--devices", paramLabel = "B:D,B:D,...", description = "several TornadoVM devices for one run: each batch split between them (overrides backend.devices)")
    String devices;

    @Option(names = "--device-weights", paramLabel = "W,W,...|auto", description = "share of each batch per --devices entry, or auto (overrides backend.device_weights)")
    String deviceWeights;

    @Option(names = "--until", paramLabel = "STEP", description = "stop after this step with a checkpoint, as an interruption would")
    Integer until;

    @Option(names = "--resume", description = "continue the run in --out from its newest undamaged checkpoint to train.steps "
            + "(a damaged newer one is reported in one line and skipped)")
    boolean resume;

    @Option(names = "--strict", description = "with --resume: stop with exit code 2 when the newest checkpoint is damaged, instead of falling back to an older one")
    boolean strict;

    /** The --set overrides, then --backend, --threads, --device, --devices and --device-weights as config overrides. */
    List<String> overrides() {
        List<String> all = backendOptions.addTo(new ArrayList<>(sets));
        if (device != null) all.add("backend.device=" + device);
        if (devices != null) all.add("backend.devices=" + devices);
        if (deviceWeights != null) all.add("backend.device_weights=" + deviceWeights);
        return all;
    }
}
