package dagmoe.model;

/**
 * What one forward (and backward) reports. {@code loss}: mean LM cross-entropy over counted targets
 * (NaN without targets); {@code balanceLoss}, {@code zLoss}: auxiliary router losses summed over MoE
 * blocks (and chain routers), coefficients applied; {@code totalLoss} = loss + balance + z.
 * {@code tokens}: number of targets >= 0. {@code expertLoad}[moe block][N]: slots routed to each expert
 * (chain: summed over rounds). {@code gateMeans}[moe block][round][K·K]: mean edge gate sigmoid(a_i + b_j)
 * by router rank (i, j); a zero-length array unless the aggregator is dag.
 */
public record StepResult(double loss, double balanceLoss, double zLoss, double totalLoss, int tokens,
                         int[][] expertLoad, float[][][] gateMeans) {}
