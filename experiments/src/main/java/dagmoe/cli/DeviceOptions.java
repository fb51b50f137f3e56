package dagmoe.cli;

import picocli.CommandLine.Option;

import java.util.List;

/** {@code --device}, {@code --devices} and {@code --device-weights}: the TornadoVM devices of a run, shared by train, finetune and bench (a picocli mixin). */
final class DeviceOptions {
    @Option(names = "--device", paramLabel = "B:D", description = "TornadoVM device, see 'dagmoe devices' (overrides backend.device)")
    String device;

    @Option(names = "--devices", paramLabel = "B:D,B:D,...", description = "several TornadoVM devices for one run: each batch split between them (overrides backend.devices)")
    String devices;

    @Option(names = "--device-weights", paramLabel = "W,W,...|auto", description = "share of each batch per --devices entry, or auto (overrides backend.device_weights)")
    String weights;

    /** The options as config overrides, appended to {@code sets}: backend.device=..., backend.devices=..., backend.device_weights=... */
    List<String> addTo(List<String> sets) {
        if (device != null) sets.add("backend.device=" + device);
        if (devices != null) sets.add("backend.devices=" + devices);
        if (weights != null) sets.add("backend.device_weights=" + weights);
        return sets;
    }
}
