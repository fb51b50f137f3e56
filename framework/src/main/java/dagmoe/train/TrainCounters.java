package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dagmoe.stats.Quantiles;

import java.util.ArrayDeque;

/**
 * A run's progress counters: updated once per step, saved in and restored from a checkpoint's state.json
 * ("progress", the format of {@code dagmoe-checkpoint-1}) and summarised in summary.json, all here. Time and
 * tokens of the steps in the second half of the run ("late") measure the steady-state speed, without JIT
 * warm-up, for overhead comparisons.
 */
final class TrainCounters {
    static final int RECENT = 20;      // final_train_loss = mean LM loss of the last RECENT steps
    static final int LATE_KEEP = 1000; // median step time over the last LATE_KEEP late steps

    double wallSecondsBefore; // wall time of earlier segments of this run
    double trainSeconds;      // time inside training steps (not evaluation or checkpoints)
    long tokens;              // tokens processed (batch · seq per step; throughput counts every input)
    long targets;             // targets the loss counted (fewer with a task's answer-only loss)
    double lateSeconds;
    long lateTokens, lateSteps;
    final ArrayDeque<Double> lateStepMs = new ArrayDeque<>();
    final ArrayDeque<Double> recentLosses = new ArrayDeque<>();

    /** Counts step {@code step} (1-based) of {@code totalSteps}: its time, tokens, counted targets and LM loss. */
    void add(int step, int totalSteps, double seconds, long stepTokens, long stepTargets, double loss) {
        trainSeconds += seconds;
        tokens += stepTokens;
        targets += stepTargets;
        if (step > totalSteps / 2) {
            lateSeconds += seconds;
            lateTokens += stepTokens;
            lateSteps++;
            lateStepMs.addLast(1000 * seconds);
            if (lateStepMs.size() > LATE_KEEP) lateStepMs.removeFirst();
        }
        recentLosses.addLast(loss);
        if (recentLosses.size() > RECENT) recentLosses.removeFirst();
    }

    double finalTrainLoss() {
        return recentLosses.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    double tokensPerSecond() {
        return tokens / Math.max(trainSeconds, 1e-9);
    }

    /** The checkpoint's "progress" object, with the run's wall time so far. */
    ObjectNode toJson(double wallSeconds) {
        ObjectNode prog = JsonNodeFactory.instance.objectNode();
        prog.put("wall_seconds", wallSeconds).put("train_seconds", trainSeconds).put("tokens", tokens)
                .put("targets", targets).put("late_seconds", lateSeconds).put("late_tokens", lateTokens)
                .put("late_steps", lateSteps);
        ArrayNode late = prog.putArray("late_step_ms");
        lateStepMs.forEach(late::add);
        ArrayNode recent = prog.putArray("recent_losses");
        recentLosses.forEach(recent::add);
        return prog;
    }

    /** Restores the counters from a checkpoint's "progress" object (absent fields: 0 or empty). */
    static TrainCounters fromJson(JsonNode prog) {
        TrainCounters c = new TrainCounters();
        c.wallSecondsBefore = prog.path("wall_seconds").asDouble(0);
        c.trainSeconds = prog.path("train_seconds").asDouble(0);
        c.tokens = prog.path("tokens").asLong(0);
        c.targets = prog.path("targets").asLong(0);
        c.lateSeconds = prog.path("late_seconds").asDouble(0);
        c.lateTokens = prog.path("late_tokens").asLong(0);
        c.lateSteps = prog.path("late_steps").asLong(0);
        prog.path("late_step_ms").forEach(n -> c.lateStepMs.addLast(n.asDouble()));
        prog.path("recent_losses").forEach(n -> c.recentLosses.addLast(n.asDouble()));
        return c;
    }

    /** The speed fields of summary.json; {@code tokensPerStep}: batch · seq. */
    void summarise(ObjectNode s, int steps, long tokensPerStep) {
        s.put("mean_step_ms", 1000 * trainSeconds / Math.max(1, steps));
        // Second half of the run only (no JIT warm-up): what compare uses for speed and overhead.
        s.put("steady_step_ms", 1000 * lateSeconds / Math.max(1, lateSteps));
        s.put("steady_tokens_per_second", lateTokens / Math.max(lateSeconds, 1e-9));
        // Median over the last (up to 1000) steps of the second half: robust to other processes' load spikes.
        double median = Quantiles.median(lateStepMs.stream().mapToDouble(Double::doubleValue).toArray());
        s.put("median_step_ms", median);
        s.put("median_tokens_per_second", tokensPerStep / (median / 1000));
        s.put("tokens", tokens);
        s.put("targets", targets);
    }
}
