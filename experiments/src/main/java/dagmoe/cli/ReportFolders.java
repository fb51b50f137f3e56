package dagmoe.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code --out}, {@code --runs} and {@code --report-only} of the commands that train many runs and report on them, study and suite (a picocli mixin). */
final class ReportFolders {
    @Option(names = "--out", paramLabel = "DIR", description = "tables and plots (default experiments/results/<study or folder name>)")
    Path out;

    @Option(names = "--runs", paramLabel = "DIR", description = "run folders with checkpoints (default runs/<study or folder name>)")
    Path runs;

    @Option(names = "--report-only", description = "train nothing: write the tables and plots of the runs finished so far (study: evaluating them first)")
    boolean reportOnly;

    /** The folder of the tables and plots: --out, or experiments/results/NAME. */
    Path out(String name) {
        return out != null ? out : Path.of("experiments", "results", name);
    }

    /** The folder of the run folders: --runs, or runs/NAME. */
    Path runs(String name) {
        return runs != null ? runs : Path.of("runs", name);
    }

    /** Appends --out and --runs as they are given on a command line. */
    StringBuilder appendTo(StringBuilder command) {
        if (out != null) command.append(" --out ").append(out);
        if (runs != null) command.append(" --runs ").append(runs);
        return command;
    }
}
