package dagmoe.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code dagmoe} command line. Exit codes: 0 success, 1 internal failure, 2 bad input. */
@Command(name = "dagmoe", mixinStandardHelpOptions = true, version = "dagmoe 0.1.0",
        description = "Train, evaluate, compare and benchmark Mixture-of-Experts language models with DAG-MoE aggregation.",
        subcommands = {
                CommandLine.HelpCommand.class,
                BenchCommand.class,
                TrainCommand.class,
                FinetuneCommand.class,
                TasksCommand.class,
                DevicesCommand.class,
                CompareCommand.class,
                EvalCommand.class,
                GenerateCommand.class,
                SuiteCommand.class,
                StudyCommand.class,
                VerifyCommand.class,
                BundleCommand.class,
                SelftestCommand.class,
        })
public final class Main {
    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (tests call this). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("dagmoe: " + CliSupport.oneLine(ex.getMessage()));
            return 2;
        });
        return cli.execute(args);
    }
}
