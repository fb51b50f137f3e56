package dagmoe.model;

import org.junit.jupiter.api.Test;

import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Validation messages name the JSON key, the value and the rule. */
class ModelConfigTest {

    static void rejects(String expected, UnaryOperator<ModelConfig.Builder> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> change.apply(ModelConfig.builder()).build());
        assertEquals(expected, e.getMessage());
    }

    @Test
    void invalidFieldsAreNamed() {
        rejects("model.top_k = 9: must be <= model.n_experts (8)", b -> b.topK(9));
        rejects("model.top_k = 0: must be > 0", b -> b.topK(0));
        rejects("model.n_heads = 3: must divide model.d_model (256)", b -> b.nHeads(3));
        rejects("model.n_heads = 4: head dim model.d_model/model.n_heads = 3 must be even (rotary pairs)", b -> b.dModel(12));
        rejects("model.dag.width = 0: must be >= 1", b -> b.dagWidth(0));
        rejects("model.dag.rounds = -1: must be >= 0", b -> b.dagRounds(-1));
        rejects("model.vocab_size = 0: must be > 0", b -> b.vocabSize(0));
        rejects("model.d_model = -4: must be > 0", b -> b.dModel(-4));
        rejects("model.expert_hidden = 0: must be > 0", b -> b.expertHidden(0));
        rejects("model.seq_len = 0: must be > 0", b -> b.seqLen(0));
        rejects("model.moe_every = 5: must be <= model.n_layers (4) so that some block is MoE", b -> b.moeEvery(5));
        rejects("model.chain.rounds = 0: must be > 0", b -> b.chainRounds(0));
        rejects("model.mlp_mix.width = 0: must be > 0", b -> b.mixWidth(0));
        rejects("model.shared.hidden = -1: must be >= 0 (0 = parameter-matched to the dag settings)", b -> b.sharedHidden(-1));
        rejects("model.router.balance_coef = -0.1: must be >= 0", b -> b.balanceCoef(-0.1));
        rejects("model.norm_eps = 0.0: must be a positive finite number", b -> b.normEps(0));
        rejects("model.aggregator = moe: must be one of sum, shared, dag, mlp-mix, chain", b -> b.aggregator("moe"));
        rejects("model.dag.residual = inner: must be one of injected, outer", b -> b.dagResidual("inner"));
    }

    @Test
    void defaultsAndKeys() {
        ModelConfig c = ModelConfig.defaults();
        assertEquals(Aggregator.DAG, c.aggregator());
        assertEquals(DagResidual.INJECTED, c.dagResidual());
        assertEquals(true, c.dagInject());
        assertEquals(0.01, c.balanceCoef());
        assertEquals("dag.rounds", ModelConfig.jsonKey("dagRounds"));
        assertEquals("mlp-mix", Aggregator.MLP_MIX.key());
        assertEquals(Aggregator.MLP_MIX, Aggregator.parse("mlp-mix"));
        ModelConfig every2 = c.toBuilder().moeEvery(2).build();
        assertEquals(false, every2.isMoe(0));
        assertEquals(true, every2.isMoe(1));
        assertEquals(2, every2.moeLayers());
    }
}
