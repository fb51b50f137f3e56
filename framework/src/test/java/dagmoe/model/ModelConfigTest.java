package dagmoe.model;

import dagmoe.config.field.Fields;
import dagmoe.config.field.Key;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Validation messages name the JSON key, the value and the rule. */
class ModelConfigTest {

    static void rejects(String expected, UnaryOperator<Fields.Builder<ModelConfig>> change) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> change.apply(ModelConfig.builder()).build());
        assertEquals(expected, e.getMessage());
    }

    @Test
    void invalidFieldsAreNamed() {
        rejects("model.top_k = 9: must be <= model.n_experts (8)", b -> b.set("top_k", 9));
        rejects("model.top_k = 0: must be >= 1", b -> b.set("top_k", 0));
        rejects("model.n_heads = 3: must divide model.d_model (256)", b -> b.set("n_heads", 3));
        rejects("model.n_heads = 4: head dim model.d_model/model.n_heads = 3 must be even (rotary pairs)", b -> b.set("d_model", 12));
        rejects("model.dag.width = 0: must be >= 1", b -> b.set("dag.width", 0));
        rejects("model.dag.rounds = -1: must be >= 0", b -> b.set("dag.rounds", -1));
        rejects("model.vocab_size = 0: must be > 0 in a built model (0, from the tokenizer, is resolved by the run)", b -> b.set("vocab_size", 0));
        rejects("model.d_model = -4: must be >= 1", b -> b.set("d_model", -4));
        rejects("model.expert_hidden = 0: must be >= 1", b -> b.set("expert_hidden", 0));
        rejects("model.seq_len = 0: must be > 0 in a built model (0, the task's own length, is resolved by the run)", b -> b.set("seq_len", 0));
        rejects("model.moe_every = 5: must be <= model.n_layers (4) so that some block is MoE", b -> b.set("moe_every", 5));
        rejects("model.chain.rounds = 0: must be >= 1", b -> b.set("chain.rounds", 0));
        rejects("model.mlp_mix.width = 0: must be >= 1", b -> b.set("mlp_mix.width", 0));
        rejects("model.shared.hidden = -1: must be >= 0", b -> b.set("shared.hidden", -1));
        rejects("model.router.balance_coef = -0.1: must be >= 0", b -> b.set("router.balance_coef", -0.1));
        rejects("model.norm_eps = 0: must be > 0", b -> b.set("norm_eps", 0));
        rejects("model.aggregator = moe: must be one of sum, shared, dag, mlp-mix, chain", b -> b.set("aggregator", "moe"));
        rejects("model.dag.residual = inner: must be one of injected, outer", b -> b.set("dag.residual", "inner"));
        rejects("model.rope_theta = Infinity: must be a finite number", b -> b.set("rope_theta", Double.POSITIVE_INFINITY));
        rejects("no key dag.round in section model", b -> b.set("dag.round", 3));
    }

    @Test
    void defaultsAndKeys() {
        ModelConfig c = ModelConfig.defaults();
        assertEquals(Aggregator.DAG, c.aggregator());
        assertEquals(DagResidual.INJECTED, c.dagResidual());
        assertEquals(true, c.dagInject());
        assertEquals(0.01, c.balanceCoef());
        // the declaration: component dagRounds is the key model.dag.rounds, an int in [0, 64], default 2
        Key rounds = Fields.of(ModelConfig.class).stream().filter(k -> k.component().equals("dagRounds")).findFirst().orElseThrow();
        assertEquals("model.dag.rounds", rounds.path());
        assertEquals(Key.Type.INT, rounds.type());
        assertEquals(2, rounds.defaultValue());
        assertEquals(">= 0, <= 64", rounds.rangeText());
        assertEquals(List.of("sum", "shared", "dag", "mlp-mix", "chain"),
                Fields.of(ModelConfig.class).stream().filter(k -> k.path().equals("model.aggregator")).findFirst().orElseThrow().choices());
        assertEquals(c, Fields.build(ModelConfig.class, Fields.values(c)), "values -> record round trip");
        assertEquals("mlp-mix", Aggregator.MLP_MIX.key());
        assertEquals(Aggregator.MLP_MIX, Aggregator.parse("mlp-mix"));
        ModelConfig every2 = c.toBuilder().set("moe_every", 2).build();
        assertEquals(false, every2.isMoe(0));
        assertEquals(true, every2.isMoe(1));
        assertEquals(2, every2.moeLayers());
    }
}
