package dagmoe.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** {@code --set} with {@code --backend} and {@code --threads}: the overrides of the configs a command loads (a picocli mixin). */
final class ConfigOverrides {
    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "override a config key by its dotted path (in compare, suite and study: of every run), e.g. --set train.steps=200 (repeatable)")
    List<String> sets = new ArrayList<>();

    @Mixin
    BackendOptions backendOptions = new BackendOptions();

    /** The --set overrides, then --backend and --threads as config overrides (a new list). */
    List<String> list() {
        return backendOptions.addTo(new ArrayList<>(sets));
    }

    /** Appends the options as they are given on a command line: --backend, --threads, then every --set. */
    StringBuilder appendTo(StringBuilder command) {
        if (backendOptions.backend != null) command.append(" --backend ").append(backendOptions.backend);
        if (backendOptions.threads != null) command.append(" --threads ").append(backendOptions.threads);
        for (String x : sets) command.append(" --set ").append(x);
        return command;
    }
}
