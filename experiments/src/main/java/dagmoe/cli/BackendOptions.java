package dagmoe.cli;

import picocli.CommandLine.Option;

import java.util.List;

/** {@code --backend} and {@code --threads}, shared by the commands that train or load a model (a picocli mixin). */
final class BackendOptions {
    @Option(names = "--backend", description = "java | cpu | tornado (default: backend.name of the config or run)")
    String backend;

    @Option(names = "--threads", description = "worker threads (default: backend.threads of the config or run)")
    Integer threads;

    /** The options as config overrides, appended to {@code sets}: backend.name=..., backend.threads=... */
    List<String> addTo(List<String> sets) {
        if (backend != null) sets.add("backend.name=" + backend);
        if (threads != null) sets.add("backend.threads=" + threads);
        return sets;
    }
}
