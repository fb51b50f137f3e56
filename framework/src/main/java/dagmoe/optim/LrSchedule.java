package dagmoe.optim;

/**
 * Learning rate at 0-based step {@code step}: linear warm-up lr = maxLr·(step+1)/warmupSteps for
 * step &lt; warmupSteps, then cosine decay minLr + ½(1 + cos(π·p))(maxLr − minLr) with
 * p = min(1, (step − warmupSteps)/max(1, totalSteps − warmupSteps)), so minLr from totalSteps on
 * (the PyTorch reference's lr_at).
 */
public final class LrSchedule {
    private LrSchedule() {}

    public static double at(long step, long warmupSteps, long totalSteps, double maxLr, double minLr) {
        if (warmupSteps > 0 && step < warmupSteps) return maxLr * (step + 1) / warmupSteps;
        long span = Math.max(1, totalSteps - warmupSteps);
        double p = Math.min(1.0, (double) (step - warmupSteps) / span);
        return minLr + 0.5 * (1 + Math.cos(Math.PI * p)) * (maxLr - minLr);
    }
}
