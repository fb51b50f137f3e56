package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.data.Batch;
import dagmoe.data.Batcher;
import dagmoe.data.TokenSeq;
import dagmoe.model.Aggregator;
import dagmoe.model.Model;
import dagmoe.model.ModelConfig;
import dagmoe.model.Parameter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The real model, optimizer and batcher on a tiny config and a synthetic token stream. */
class TrainerTest {
    @TempDir Path tmp;

    static final ModelConfig TINY = ModelConfig.builder()
            .set("vocab_size", 32).set("d_model", 16).set("n_layers", 1).set("n_heads", 2).set("seq_len", 8)
            .set("n_experts", 4).set("top_k", 2).set("expert_hidden", 16)
            .set("aggregator", Aggregator.DAG).set("dag.rounds", 1).set("dag.width", 8).build();

    static TrainConfig train(int steps, int ckptEvery, double lr) {
        return TrainConfig.builder().set("steps", steps).set("batch_size", 2).set("lr", lr).set("min_lr", lr / 10)
                .set("warmup_steps", 2).set("seed", 3).set("eval_every", 5).set("eval_batches", 2)
                .set("checkpoint_every", ckptEvery).set("keep_checkpoints", 0).set("log_every", 1).set("loss_on", "all").build();
    }

    static TokenSeq corpus() {
        int[] t = new int[400];
        for (int i = 0; i < t.length; i++) t[i] = (i * 7 + (i / 13)) % 32; // a learnable, deterministic pattern
        return TokenSeq.of(t);
    }

    Trainer trainer(Path run, TrainConfig tc, Backend be) throws Exception {
        Files.createDirectories(run);
        Model model = new Model(TINY, be, tc.seed());
        List<Batch> val = Batcher.evalBatches(corpus(), 2, TINY.seqLen(), 2);
        BatchSource src = BatchSource.of(new Batcher(corpus(), tc.batchSize(), TINY.seqLen(), tc.seed()));
        return new Trainer(model, tc, new Trainer.Setup(run, src, val, null, null, null, null));
    }

    static List<Double> losses(Path run) {
        List<Double> out = new ArrayList<>();
        for (JsonNode l : MetricsWriter.read(run)) if (l.path("kind").asText().equals("train")) out.add(l.get("loss").asDouble());
        return out;
    }

    @ParameterizedTest
    @CsvSource({"java, 1", "cpu, 2"})
    void resumedRunEqualsStraightRunBitForBit(String backend, int threads) throws Exception {
        Backend be = Backends.create(backend, threads);
        Path a = tmp.resolve("straight"), b = tmp.resolve("resumed");
        Trainer straight = trainer(a, train(12, 4, 3e-3), be);
        Trainer.Result ra = straight.run(0);
        assertTrue(ra.finished());

        Trainer first = trainer(b, train(12, 4, 3e-3), be);
        Trainer.Result half = first.run(6);
        assertFalse(half.finished());
        assertEquals(6, half.step());
        assertFalse(Files.exists(b.resolve("summary.json")));
        Trainer second = trainer(b, train(12, 4, 3e-3), be);
        second.resumeFrom(new Checkpoints(b).latest().orElseThrow());
        assertEquals(6, second.step());
        Trainer.Result rb = second.run(0);

        List<Double> la = losses(a), lb = losses(b);
        assertEquals(12, la.size());
        assertEquals(la, lb, "losses of the resumed run");
        assertEquals(Double.doubleToLongBits(ra.valLoss()), Double.doubleToLongBits(rb.valLoss()));
        var wa = Checkpoints.load(new Checkpoints(a).latest().orElseThrow());
        var wb = Checkpoints.load(new Checkpoints(b).latest().orElseThrow());
        for (String name : wa.model().keySet()) {
            assertArrayEquals(wa.model().get(name).data(), wb.model().get(name).data(), name);
            assertArrayEquals(wa.optimizer().get("m." + name).data(), wb.optimizer().get("m." + name).data(), name);
        }
        assertTrue(la.get(11) < la.get(0), "the loss goes down: " + la);
        assertTrue(Files.exists(b.resolve("summary.json")));
        // model-FLOPs utilisation: analytic FLOPs over the median step, against the cpu 1024³ ceiling
        var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(b.resolve("summary.json").toFile());
        double flops = summary.get("model_flops_per_step").asDouble(), ceiling = summary.get("matmul_ceiling_gflops").asDouble();
        double mfu = summary.get("mfu").asDouble(), median = summary.get("median_step_ms").asDouble();
        assertTrue(flops > 0 && ceiling > 0 && mfu > 0 && mfu < 1, summary.toString());
        assertEquals(flops / (median / 1000) / (ceiling * 1e9), mfu, 1e-9 * mfu, summary.toString());
    }

    @Test
    void nanStopsWithStepAndTensorAndKeepsTheLastGoodCheckpoint() throws Exception {
        Backend be = Backends.create("java", 1);
        Path run = tmp.resolve("nan");
        Trainer t = trainer(run, train(20, 2, 1e-3), be);
        t.run(4);
        // Poison one weight, as an overflow would: the next forward produces a non-finite loss.
        Parameter norm = null;
        for (Parameter p : modelOf(t)) if (p.name().equals("final_norm")) norm = p;
        assertNotNull(norm);
        norm.data()[3] = Float.NaN;
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> t.run(0));
        assertEquals(5, e.step());
        assertTrue(e.getMessage().contains("step 5"), e.getMessage());
        assertEquals("loss", e.tensor());
        assertTrue(e.getMessage().contains("LM loss = NaN (loss)"), e.getMessage());
        assertTrue(e.getMessage().contains("last good checkpoint: " + run.resolve("checkpoints/step-0000004")), e.getMessage());
        assertEquals(List.of(2L, 4L), new Checkpoints(run).completeSteps());
        assertFalse(Files.exists(run.resolve("summary.json")));
    }

    /** Frozen groups: bit-identical after training (also across a checkpoint and resume); the other tensors train. */
    @ParameterizedTest
    @CsvSource({"java, 1", "cpu, 2"})
    void frozenGroupsStayBitIdenticalAndTheRestTrains(String backend, int threads) throws Exception {
        Backend be = Backends.create(backend, threads);
        List<String> freeze = List.of("attention", "router", "norms");
        TrainConfig tc = TrainConfig.builder().set("steps", 8).set("batch_size", 2).set("lr", 3e-3).set("min_lr", 3e-4)
                .set("warmup_steps", 2).set("seed", 3).set("eval_every", 4).set("eval_batches", 2).set("checkpoint_every", 4)
                .set("keep_checkpoints", 0).set("log_every", 1).set("loss_on", "all").set("freeze", freeze).build();
        Model initial = new Model(TINY, be, tc.seed());
        Path a = tmp.resolve("frozen-" + backend);
        Model trained = new Model(TINY, be, tc.seed());
        List<Batch> val = Batcher.evalBatches(corpus(), 2, TINY.seqLen(), 2);
        Files.createDirectories(a);
        Trainer t = new Trainer(trained, tc, new Trainer.Setup(a, BatchSource.of(new Batcher(corpus(), 2, TINY.seqLen(), tc.seed())),
                val, null, null, null, null));
        t.run(4);
        Trainer resumed = new Trainer(trained, tc, new Trainer.Setup(a, BatchSource.of(new Batcher(corpus(), 2, TINY.seqLen(), tc.seed())),
                val, null, null, null, null));
        resumed.resumeFrom(new Checkpoints(a).latest().orElseThrow());
        resumed.run(0);
        int frozen = 0, moved = 0;
        long frozenCount = 0;
        for (Parameter p : trained.parameters()) {
            boolean isFrozen = freeze.contains(trained.component(p.name()));
            boolean same = java.util.Arrays.equals(initial.parameter(p.name()).data(), p.data());
            if (isFrozen) {
                assertTrue(same, p.name() + " is frozen but changed");
                frozen++;
                frozenCount += p.size();
            } else if (!p.name().endsWith("w_up") || !same) {
                assertFalse(same, p.name() + " is trainable but did not change");
                moved++;
            }
        }
        assertTrue(frozen >= 5 && moved >= 5, frozen + " frozen, " + moved + " moved");
        var ck = Checkpoints.load(new Checkpoints(a).latest().orElseThrow());
        assertFalse(ck.optimizer().containsKey("m.layers.0.attn.wq"), "a frozen tensor has no optimizer state");
        assertTrue(ck.optimizer().containsKey("m.tok_emb"));
        JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(a.resolve("summary.json").toFile());
        assertEquals(frozenCount, summary.get("params_frozen").asLong());
        assertEquals(trained.paramCounts().total() - frozenCount, summary.get("params_trainable").asLong());
        assertEquals("[\"attention\",\"router\",\"norms\"]", summary.get("freeze").toString());
    }

    @Test
    void freezeRejectsUnknownGroupsTheTiedHeadAndFreezingEverything() {
        Model m = new Model(TINY, Backends.create("java", 1), 1);
        assertEquals(m.parameters().size(), Trainer.trainable(m, List.of()).size());
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.trainable(m, List.of("atention")));
        assertTrue(e.getMessage().contains("atention is not one of"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.trainable(m, Model.COMPONENTS));
        assertTrue(e.getMessage().contains("nothing to train"), e.getMessage());
        Model tied = new Model(TINY.toBuilder().set("tie_embeddings", true).build(), Backends.create("java", 1), 1);
        // the config's choices are the model's groups
        assertEquals(Model.COMPONENTS, dagmoe.config.field.Fields.of(TrainConfig.class).stream()
                .filter(k -> k.key().equals("freeze")).findFirst().orElseThrow().choices());
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.trainable(tied, List.of("head")));
        assertTrue(e.getMessage().contains("tie_embeddings"), e.getMessage());
        assertEquals(tied.parameters().size() - 1, Trainer.trainable(tied, List.of("embedding")).size());
    }

    private static List<Parameter> modelOf(Trainer t) {
        return t.optimizer().parameters();
    }
}
