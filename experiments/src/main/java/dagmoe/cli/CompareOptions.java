package dagmoe.cli;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;

/** {@code --seeds}, the config overrides and the cluster options of the commands that train compare configs, compare and suite (a picocli mixin). */
final class CompareOptions {
    @Option(names = "--seeds", paramLabel = "N", description = "seeds per variant (overrides compare.seeds): train.seed, train.seed+1, ...")
    Integer seeds;

    @Mixin
    ConfigOverrides overrides = new ConfigOverrides();

    @Mixin
    Distributed.Options cluster = new Distributed.Options();

    /** The config overrides ({@link ConfigOverrides#list}), then --seeds as compare.seeds (a new list). */
    List<String> list() {
        List<String> all = overrides.list();
        if (seeds != null) all.add("compare.seeds=" + seeds);
        return all;
    }

    /** Appends --seeds, then the config overrides, as they are given on a command line. */
    StringBuilder appendTo(StringBuilder command) {
        if (seeds != null) command.append(" --seeds ").append(seeds);
        return overrides.appendTo(command);
    }
}
