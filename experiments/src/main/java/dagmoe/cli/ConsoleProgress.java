package dagmoe.cli;

import dagmoe.train.Trainer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;

/**
 * Training progress: a progress bar (step, loss, tokens/s, ETA) when the output is a terminal, plain
 * llm.c-style log lines otherwise (CI, pipes, files).
 */
final class ConsoleProgress implements Trainer.Progress {
    private final String task;
    private final PrintStream out;
    private final boolean terminal;
    private ProgressBar bar;

    ConsoleProgress(String task, PrintStream out) {
        this(task, out, System.console() != null);
    }

    ConsoleProgress(String task, PrintStream out, boolean terminal) {
        this.task = task;
        this.out = out;
        this.terminal = terminal;
    }

    @Override
    public void start(int fromStep, int untilStep, int totalSteps) {
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(untilStep).startsFrom(fromStep, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(120).setUpdateIntervalMillis(250).showSpeed().setUnit(" steps", 1)
                    .continuousUpdate().build();
        } else {
            out.println(task + ": steps " + (fromStep + 1) + ".." + untilStep + " of " + totalSteps);
        }
    }

    @Override
    public void step(int step, double loss, double tokensPerSecond) {
        if (bar != null) {
            bar.stepTo(step);
            bar.setExtraMessage(String.format(" loss %.4f | %.0f tok/s", loss, tokensPerSecond));
        }
    }

    @Override
    public void log(String line) {
        // With a bar, only evaluations and checkpoints interrupt it; every metrics line goes to the log otherwise.
        if (bar == null) out.println(task + " " + line);
        else if (line.contains("val_loss") || line.startsWith("checkpoint")) {
            System.err.print("\r");
            out.println(task + " " + line);
        }
    }

    @Override
    public void end() {
        if (bar != null) {
            bar.close();
            bar = null;
        }
    }
}
