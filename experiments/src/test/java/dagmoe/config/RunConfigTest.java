package dagmoe.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.model.Aggregator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RunConfigTest {
    @TempDir Path dir;

    private Path write(String name, String json) throws Exception {
        Path f = dir.resolve(name);
        Files.writeString(f, json);
        return f;
    }

    @Test
    void readsNestedKeysAndFillsDocumentedDefaults() throws Exception {
        Path f = write("tiny.json", """
                {"model": {"d_model": 64, "n_heads": 2, "aggregator": "sum", "dag": {"rounds": 3}},
                 "train": {"steps": 20, "lr": 0.001},
                 "data": {"path": "x.txt"}}""");
        RunConfig c = RunConfig.load(f, List.of());
        assertEquals("tiny", c.name());
        assertEquals(64, c.model().dModel());
        assertEquals(Aggregator.SUM, c.model().aggregator());
        assertEquals(3, c.model().dagRounds());
        assertEquals(20, c.train().steps());
        assertEquals(0.001, c.train().lr());
        assertEquals(ConfigSchema.key("train.batch_size").defaultValue(), c.train().batchSize());
        assertEquals("all", c.train().lossOn(), "auto resolves to all without a task");
        assertEquals("cpu", c.backend().name());
        assertTrue(ConfigSchema.describe().contains("| `model.dag.rounds` | int | 2 |"));
    }

    @Test
    void setOverridesAreTypedByTheTargetField() throws Exception {
        Path f = write("a.json", "{\"data\": {\"path\": \"x.txt\"}}");
        RunConfig c = RunConfig.load(f, List.of("model.dag.width=32", "train.lr=0.01", "model.tie_embeddings=true",
                "model.aggregator=mlp-mix", "train.seed=7", "data.tokenizer=bpe", "data.task=hops", "data.task_params.n=12"));
        assertEquals(32, c.model().dagWidth());
        assertEquals(0.01, c.train().lr());
        assertTrue(c.model().tieEmbeddings());
        assertEquals(Aggregator.MLP_MIX, c.model().aggregator());
        assertEquals(7L, c.train().seed());
        assertEquals("bpe", c.data().tokenizer());
        assertEquals(12, c.data().taskParams().get("n").asInt());

        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("train.steps=ten")));
        assertEquals("--set train.steps=ten: train.steps = ten: must be an integer", e.getMessage());
        e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("model.tie_embeddings=yes")));
        assertTrue(e.getMessage().contains("true or false"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("model.aggregator=avg")));
        assertTrue(e.getMessage().contains("must be one of sum, shared, dag, mlp-mix, chain"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("train.stepz=3")));
        assertTrue(e.getMessage().contains("unknown key train.stepz (did you mean train.steps?)"), e.getMessage());
    }

    @Test
    void unknownKeySuggestsTheNearestValidKey() throws Exception {
        Path f = write("x.json", "{\"model\": {\"agregator\": \"dag\"}}");
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of()));
        assertEquals(f + ": unknown key model.agregator (did you mean model.aggregator?)", e.getMessage());

        Path g = write("y.json", "{\"model\": {\"dag\": {\"round\": 2}}}");
        e = assertThrows(ConfigException.class, () -> RunConfig.load(g, List.of()));
        assertTrue(e.getMessage().endsWith("unknown key model.dag.round (did you mean model.dag.rounds?)"), e.getMessage());

        Path h = write("z.json", "{\"trian\": {\"steps\": 2}}");
        e = assertThrows(ConfigException.class, () -> RunConfig.load(h, List.of()));
        assertTrue(e.getMessage().contains("unknown key trian.steps (did you mean train.steps?)"), e.getMessage());
    }

    @Test
    void rangeAndTypeErrorsNameFileFieldAndRule() throws Exception {
        record Case(String json, String expected) {}
        for (Case c : List.of(
                new Case("{\"train\": {\"lr\": -1}}", "train.lr = -1: must be > 0"),
                new Case("{\"train\": {\"steps\": 0}}", "train.steps = 0: must be >= 1"),
                new Case("{\"train\": {\"steps\": 2.5}}", "train.steps = 2.5: must be an integer"),
                new Case("{\"data\": {\"val_fraction\": 1.5}}", "data.val_fraction = 1.5: must be <= 0.5"),
                new Case("{\"model\": {\"top_k\": 9, \"n_experts\": 8}}", "model.top_k = 9: must be <= model.n_experts (8)"),
                new Case("{\"model\": {\"n_heads\": 3}}", "model.n_heads = 3: must divide model.d_model (256)"),
                new Case("{\"train\": {\"lr\": 0.001, \"min_lr\": 0.01}}", "train.min_lr = 0.01: must be <= train.lr (0.001)"),
                new Case("{\"backend\": {\"name\": \"gpu\"}}", "backend.name = \"gpu\": must be one of java, cpu, tornado"),
                new Case("{\"model\": 3}", "model must be an object"),
                new Case("{\"train\": {\"steps\": 1,}}", "not valid JSON"))) {
            Path f = write("bad.json", c.json());
            ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of()), c.json());
            assertTrue(e.getMessage().startsWith(f.toString() + ": "), e.getMessage());
            assertTrue(e.getMessage().contains(c.expected()), e.getMessage() + " should contain " + c.expected());
        }
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(dir.resolve("missing.json"), List.of()));
        assertTrue(e.getMessage().contains("missing.json: config file not found"));
    }

    @Test
    void compareVariantsAreValidatedAndResolvedPerSeed() throws Exception {
        Path f = write("cmp.json", """
                {"train": {"seed": 5}, "compare": {"seeds": 2, "variants": [
                  {"name": "sum", "set": {"model.aggregator": "sum"}},
                  {"name": "dag-L3", "set": {"model.aggregator": "dag", "model.dag.rounds": 3}}]}}""");
        RunConfig c = RunConfig.load(f, List.of());
        assertEquals(2, c.compare().seeds());
        assertEquals(List.of("sum", "dag-L3"), c.compare().variants().stream().map(RunConfig.Variant::name).toList());
        RunConfig v = c.forVariant(c.compare().variants().get(1), 6);
        assertEquals(3, v.model().dagRounds());
        assertEquals(6L, v.train().seed());
        assertEquals(Aggregator.DAG, v.model().aggregator());

        Path g = write("cmp2.json", "{\"compare\": {\"variants\": [{\"name\": \"a\", \"set\": {\"model.dag.rouns\": 3}}]}}");
        ConfigException e = assertThrows(ConfigException.class, () -> RunConfig.load(g, List.of()));
        assertTrue(e.getMessage().contains("compare.variants[0].set: unknown key model.dag.rouns (did you mean model.dag.rounds?)"), e.getMessage());
        Path h = write("cmp3.json", "{\"compare\": {\"variants\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}}");
        assertThrows(ConfigException.class, () -> RunConfig.load(h, List.of()));
    }

    @Test
    void resolvedJsonReloadsToTheSameConfig() throws Exception {
        Path f = write("r.json", "{\"model\": {\"aggregator\": \"chain\"}, \"compare\": {\"variants\": [{\"name\": \"s\", \"set\": {\"train.steps\": 3}}]}}");
        RunConfig c = RunConfig.load(f, List.of("train.steps=33"));
        RunConfig back = RunConfig.fromJson(new ObjectMapper().readTree(c.toPrettyJson()), "config.json", "other", List.of());
        assertEquals(c.values().toString(), back.values().toString());
        assertEquals(c.compare(), back.compare());
        assertEquals("r", back.name());
    }

    @Test
    void freezeIsAListOfGroupsFromJsonOrACommaSeparatedSet() throws Exception {
        Path f = write("freeze.json", """
                {"train": {"freeze": ["attention", "router"]}, "data": {"path": "x.txt"}}""");
        assertEquals(List.of("attention", "router"), RunConfig.load(f, List.of()).train().freeze());
        assertEquals(List.of("embedding", "norms"), RunConfig.load(f, List.of("train.freeze=embedding, norms")).train().freeze());
        assertEquals(List.of("head"), RunConfig.load(f, List.of("train.freeze=[\"head\"]")).train().freeze());
        assertEquals(List.of(), RunConfig.load(f, List.of("train.freeze=")).train().freeze());
        RunConfig c = RunConfig.load(f, List.of());
        assertEquals(c.train().freeze(), RunConfig.fromJson(c.toJson(), "config.json", "x", List.of()).train().freeze());
        var e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("train.freeze=attention,experts,atention")));
        assertTrue(e.getMessage().contains("train.freeze = attention,experts,atention: atention is not one of embedding"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> RunConfig.load(write("bad.json", """
                {"train": {"freeze": "attention"}, "data": {"path": "x.txt"}}"""), List.of()));
        assertTrue(e.getMessage().contains("train.freeze = \"attention\": must be a list of strings"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> RunConfig.load(f, List.of("train.freeze=router,router")));
        assertTrue(e.getMessage().contains("lists an entry twice"), e.getMessage());
    }
}
