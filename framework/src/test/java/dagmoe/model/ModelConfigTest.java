package dagmoe.model;

import dagmoe.config.field.Fields;
import dagmoe.config.field.Key;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Validation messages name the JSON key, the value and the rule. */
class ModelConfigTest {

    @Test
    void invalidFieldsAreNamed() {
        // the record's own rules between keys, and a few of the ranges declared on its components (every kind of
        // range rule is tested on a small declared record in FieldsTest)
        Object[][] cases = { // key, value, message
                {"top_k", 9, "model.top_k = 9: must be <= model.n_experts (8)"},
                {"n_heads", 3, "model.n_heads = 3: must divide model.d_model (256)"},
                {"d_model", 12, "model.n_heads = 4: head dim model.d_model/model.n_heads = 3 must be even (rotary pairs)"},
                {"dag.rounds", -1, "model.dag.rounds = -1: must be >= 0"},
                {"vocab_size", 0, "model.vocab_size = 0: must be > 0 in a built model (0, from the tokenizer, is resolved by the run)"},
                {"seq_len", 0, "model.seq_len = 0: must be > 0 in a built model (0, the task's own length, is resolved by the run)"},
                {"moe_every", 5, "model.moe_every = 5: must be <= model.n_layers (4) so that some block is MoE"},
                {"norm_eps", 0, "model.norm_eps = 0: must be > 0"},
                {"aggregator", "moe", "model.aggregator = moe: must be one of sum, shared, dag, mlp-mix, chain"},
                {"rope_theta", Double.POSITIVE_INFINITY, "model.rope_theta = Infinity: must be a finite number"},
                {"dag.round", 3, "no key dag.round in section model"},
        };
        for (Object[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ModelConfig.builder().set((String) c[0], c[1]).build(), c[0] + " = " + c[1]);
            assertEquals(c[2], e.getMessage());
        }
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
        assertEquals("outer", DagResidual.OUTER.toString());
        ModelConfig every2 = c.toBuilder().set("moe_every", 2).build();
        assertEquals(false, every2.isMoe(0));
        assertEquals(true, every2.isMoe(1));
        assertEquals(2, every2.moeLayers());
    }
}
