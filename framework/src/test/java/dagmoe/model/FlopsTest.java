package dagmoe.model;

import dagmoe.backend.Backend;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The analytic step FLOPs against the FLOPs of the products the model really asks its backend for in one
 * training step: 2·m·n·k per matrix product call (a grouped expert product: 2·S·n·k over its S sorted rows),
 * plus the causal attention products from the attention calls' shapes (forward 2 products, backward 4, over
 * S(S+1)/2 positions per (batch, head)). Every aggregator, a dense block (moe_every 2) included.
 */
class FlopsTest {

    static double countedStepFlops(ModelConfig cfg, int batch) {
        double[] flops = {0};
        Backend counting = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    String op = method.getName();
                    if (op.startsWith("matmul") && args[0] != Ops.ONE) { // Ops.copyAt's 1×1 products are copies
                        flops[0] += 2.0 * (int) args[6] * (int) args[7] * (int) args[8];
                    } else if (op.equals("groupedMatmulABt") || op.equals("groupedMatmul")) { // (x, w, y, offsets, S, N, n, k, acc)
                        flops[0] += 2.0 * (int) args[4] * (int) args[6] * (int) args[7];
                    } else if (op.equals("groupedMatmulAtB")) { // (a, b, g, offsets, S, N, m, n): every expert's rows
                        flops[0] += 2.0 * (int) args[4] * (int) args[6] * (int) args[7];
                    } else if (op.equals("attentionForward") || op.equals("attentionBackward")) {
                        int n = args.length; // (..., B, S, H, hd)
                        int B = (int) args[n - 4], S = (int) args[n - 3], H = (int) args[n - 2], hd = (int) args[n - 1];
                        double products = op.equals("attentionForward") ? 2 : 4;
                        flops[0] += products * 2.0 * B * H * hd * S * (S + 1) / 2;
                    }
                    try {
                        return method.invoke(Tiny.JAVA, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        int B = 3, S = cfg.seqLen();
        Model m = new Model(cfg, counting, 7);
        int[] in = Tiny.tokens(B * S, cfg.vocabSize(), 1), tg = Tiny.tokens(B * S, cfg.vocabSize(), 2);
        m.trainStep(in, tg, B, S);
        return flops[0];
    }

    @Test
    void analyticFlopsMatchTheProductsOfAStep() {
        for (Aggregator agg : Aggregator.values()) {
            for (int every : new int[] {1, 2}) {
                ModelConfig cfg = Tiny.config(agg).set("moe_every", every).build();
                double counted = countedStepFlops(cfg, 3);
                assertEquals(counted, Flops.trainingStep(cfg, 3), 1e-9 * counted, agg + " moe_every " + every);
            }
        }
    }

    @Test
    void peerRefStepFlops() {
        // d 256, 4 layers, seq 128, batch 16, V 512, 8 experts top-2 hidden 512 (configs/peer-ref.json), sum:
        // per layer 8·T·d² + 2·B·d·S(S+1) + 2·T·d·N + 6·T·K·d·de, plus the head 2·T·d·V; T = 2048; × 3
        ModelConfig c = ModelConfig.builder().set("vocab_size", 512).set("d_model", 256).set("n_layers", 4).set("n_heads", 4)
                .set("seq_len", 128).set("n_experts", 8).set("top_k", 2).set("expert_hidden", 512).set("moe_every", 1)
                .set("aggregator", "sum").build();
        double T = 2048, d = 256;
        double layer = 8 * T * d * d + 2 * 16 * d * 128 * 129 + 2 * T * d * 8 + 6 * T * 2 * d * 512;
        assertEquals(3 * (4 * layer + 2 * T * d * 512), Flops.trainingStep(c, 16), 1);
    }
}
