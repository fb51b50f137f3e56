package dagmoe.train;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.model.Aggregator;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Initialising a model from another run's checkpoint: upcycling sum to dag / mlp-mix, and every mismatch. */
class WarmStartTest {
    @TempDir Path tmp;

    static final ModelConfig SUM = TrainerTest.TINY.toBuilder().set("aggregator", Aggregator.SUM).set("n_layers", 2).set("dag.rounds", 2).build();

    /** A sum model trained a few steps, checkpointed by the trainer. */
    Checkpoints.Loaded trainedSum(Backend be) throws Exception {
        Path run = tmp.resolve("sum-" + be.name());
        Files.createDirectories(run);
        TrainConfig tc = TrainerTest.train(6, 0, 1e-2);
        Model m = new Model(SUM, be, tc.seed());
        new Trainer(m, tc, new Trainer.Setup(run, BatchSource.of(new Batcher(TrainerTest.corpus(), 2, SUM.seqLen(), 3)),
                Batcher.evalBatches(TrainerTest.corpus(), 2, SUM.seqLen(), 1), null, null, null, null)).run(0);
        return Checkpoints.load(new Checkpoints(run).latest().orElseThrow());
    }

    @ParameterizedTest
    @CsvSource({"java, 1", "cpu, 2"})
    void upcycledDagAndMixHaveTheSourceLogitsBitForBit(String backend, int threads) throws Exception {
        Backend be = Backends.create(backend, threads);
        Checkpoints.Loaded ck = trainedSum(be);
        Batch b = Batcher.evalBatches(TrainerTest.corpus(), 3, SUM.seqLen(), 1).get(0);
        Model source = new Model(SUM, be, 1);
        Trainer.loadWeights(ck, source.parameters());
        be.hostWrote(source.parameters().stream().map(Parameter::data).toArray());
        source.forward(b.inputs(), null, b.batchSize(), b.seqLen());
        float[] want = source.logits();
        for (Aggregator agg : new Aggregator[] {Aggregator.DAG, Aggregator.MLP_MIX}) {
            Model up = new Model(SUM.toBuilder().set("aggregator", agg).build(), be, 77);
            WarmStart.Report r = WarmStart.load(ck, up);
            assertEquals(ck.model().size(), r.loaded().size());
            assertFalse(r.initialised().isEmpty());
            for (String n : r.initialised()) assertEquals("aggregator", up.component(n), n);
            up.forward(b.inputs(), null, b.batchSize(), b.seqLen());
            float[] got = up.logits();
            for (int i = 0; i < want.length; i++) {
                assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), agg + " logit " + i);
            }
        }
        // shared adds a randomly initialised expert: loadable, but not the source's function
        Model shared = new Model(SUM.toBuilder().set("aggregator", Aggregator.SHARED).set("shared.hidden", 8).build(), be, 77);
        WarmStart.load(ck, shared);
        shared.forward(b.inputs(), null, b.batchSize(), b.seqLen());
        assertFalse(java.util.Arrays.equals(want, shared.logits()));
    }

    @Test
    void everyMismatchNamesTheTensorAndChangesNothing() throws Exception {
        Backend be = Backends.create("java", 1);
        Checkpoints.Loaded ck = trainedSum(be);
        Model wide = new Model(SUM.toBuilder().set("d_model", 32).build(), be, 1);
        float[] before = wide.parameter("tok_emb").data().clone();
        var e = assertThrows(CheckpointException.class, () -> WarmStart.load(ck, wide));
        assertTrue(e.getMessage().contains("tensor tok_emb has shape [32, 16] but the config's model needs [32, 32]"), e.getMessage());
        assertArrayEquals(before, wide.parameter("tok_emb").data());

        Model tied = new Model(SUM.toBuilder().set("tie_embeddings", true).build(), be, 1);
        e = assertThrows(CheckpointException.class, () -> WarmStart.load(ck, tied));
        assertTrue(e.getMessage().contains("tensor lm_head [32, 16] has no counterpart"), e.getMessage());

        Model oneLayer = new Model(SUM.toBuilder().set("n_layers", 3).build(), be, 1);
        e = assertThrows(CheckpointException.class, () -> WarmStart.load(ck, oneLayer));
        assertTrue(e.getMessage().contains("no tensor layers.2.attn_norm [16]"), e.getMessage());

        // downcycling drops the dag's tensors: refused, naming the first
        Path dagRun = tmp.resolve("dag");
        Files.createDirectories(dagRun);
        Model dag = new Model(SUM.toBuilder().set("aggregator", Aggregator.DAG).build(), be, 1);
        new Trainer(dag, TrainerTest.train(1, 0, 1e-3), new Trainer.Setup(dagRun,
                BatchSource.of(new Batcher(TrainerTest.corpus(), 2, SUM.seqLen(), 3)),
                Batcher.evalBatches(TrainerTest.corpus(), 2, SUM.seqLen(), 1), null, null, null, null)).run(0);
        Checkpoints.Loaded dagCk = Checkpoints.load(new Checkpoints(dagRun).latest().orElseThrow());
        e = assertThrows(CheckpointException.class, () -> WarmStart.load(dagCk, new Model(SUM, be, 1)));
        assertTrue(e.getMessage().contains("tensor layers.0.moe.dag.0.norm [16] has no counterpart"), e.getMessage());
        assertEquals(List.of(), WarmStart.load(dagCk, new Model(dag.config(), be, 5)).initialised());
    }
}
