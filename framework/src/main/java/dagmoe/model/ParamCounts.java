package dagmoe.model;

import java.util.Map;

/**
 * Parameter counts. {@code total}: all weights (a tied embedding counted once). {@code active}: the
 * weights one token uses, i.e. total minus the experts it is not routed to (K of N per MoE block;
 * chain: min(N, R·K)). {@code aggregator}: the aggregator's own weights (shared expert, dag rounds,
 * mlp-mix projections, chain routers of rounds 1..R-1). {@code byComponent}: embedding, attention,
 * router, experts, dense (dense SwiGLU blocks), aggregator, norms (attention/ffn/final norms), head
 * (0 when tied); the values sum to {@code total}.
 */
public record ParamCounts(long total, long active, long aggregator, Map<String, Long> byComponent) {}
