package dagmoe.parity;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.train.Safetensors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Exact parity with the PyTorch reference (experiments/reference/dagmoe_ref.py): for a tiny config of every
 * aggregator and the structural options, the same weights and batch give the same logits, LM loss, both
 * auxiliary losses, gradient of every parameter, and every parameter after 10 AdamW steps (warm-up + cosine
 * schedule, global-norm clipping), on the java and the cpu backend. The reference runs in float64 (the truth)
 * and in float32 (to show what fp32 costs PyTorch itself); dagmoe is compared with the float64 run, within
 * the tolerances of {@link TensorComparison}. The table of worst relative errors per tensor is printed.
 *
 * <p>The sensitivity tests change the reference only (DAG edge gate sigmoid(a_i + b_j) -> sigmoid(a_i + b_i);
 * injection h/K -> h/(K+1)) and assert that the comparison then FAILS.
 *
 * <p>Skipped (not failed) when /usr/bin/python3 cannot import torch; .ci/run installs python3-torch.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TorchParityTest {
    private static final List<String> BACKENDS = List.of("java", "cpu");
    private static final List<String> MUTATIONS = List.of("edge_gate", "injection");

    @TempDir
    static Path dir;

    private final List<ParityCase> cases = new ArrayList<>();
    /** The float64 reference: the truth every fp32 implementation is measured against. */
    private final Map<String, Map<String, Safetensors.Tensor>> torch = new LinkedHashMap<>();
    /** The float32 reference: what fp32 costs PyTorch itself (printed next to dagmoe's errors, not asserted). */
    private final Map<String, Map<String, Safetensors.Tensor>> torch32 = new LinkedHashMap<>();
    /** case -> backend -> rows, for the report. */
    private final Map<String, Map<String, List<TensorComparison.Row>>> report = new LinkedHashMap<>();

    @BeforeAll
    void runReference() throws Exception {
        if (!TorchReference.available()) return; // every test then reports itself skipped, with the reason

        cases.add(new ParityCase("sum", ParityCase.tiny("sum").build(), 11));
        cases.add(new ParityCase("shared (normalize_topk=false)", ParityCase.tiny("shared").set("router.normalize_topk", false).build(), 12));
        cases.add(new ParityCase("dag", ParityCase.tiny("dag").build(), 13));
        cases.add(new ParityCase("dag residual=outer", ParityCase.tiny("dag").set("dag.residual", "outer").build(), 14));
        cases.add(new ParityCase("dag inject=false", ParityCase.tiny("dag").set("dag.inject", false).build(), 15));
        cases.add(new ParityCase("dag inject_divide=false", ParityCase.tiny("dag").set("dag.inject_divide", false).build(), 19));
        cases.add(new ParityCase("dag moe_every=2 tied", ParityCase.tiny("dag").set("moe_every", 2).set("tie_embeddings", true).build(), 16));
        cases.add(new ParityCase("mlp-mix", ParityCase.tiny("mlp-mix").build(), 17));
        cases.add(new ParityCase("chain", ParityCase.tiny("chain").build(), 18));

        List<Map<String, Object>> jobs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++)
            for (String dtype : List.of("float64", "float32"))
                jobs.add(cases.get(i).writeInputs(dir.resolve("case" + i), dtype, ""));
        ParityCase dag = dagCase();
        for (String m : MUTATIONS) jobs.add(dag.writeInputs(dir.resolve("mutated-" + m), "float64", m));
        TorchReference.runParityJobs(jobs, dir);
        for (int i = 0; i < cases.size(); i++) {
            Path d = dir.resolve("case" + i);
            torch.put(cases.get(i).name, Safetensors.read(ParityCase.outputFile(d, "float64", "")).tensors());
            torch32.put(cases.get(i).name, Safetensors.read(ParityCase.outputFile(d, "float32", "")).tensors());
        }
        for (String m : MUTATIONS)
            torch.put("mutated:" + m, Safetensors.read(ParityCase.outputFile(dir.resolve("mutated-" + m), "float64", m)).tensors());
    }

    private ParityCase dagCase() {
        return cases.stream().filter(c -> c.name.equals("dag")).findFirst().orElseThrow();
    }

    @TestFactory
    Stream<DynamicTest> dagmoeMatchesPyTorch() {
        assumeTrue(TorchReference.available(), TorchReference::unavailableMessage);
        List<DynamicTest> tests = new ArrayList<>();
        for (ParityCase c : cases)
            for (String backend : BACKENDS)
                tests.add(DynamicTest.dynamicTest(c.name + " [" + backend + "]", () -> {
                    List<TensorComparison.Row> rows;
                    try (Backend be = Backends.create(backend, 2)) {
                        Map<String, float[]> mine = c.runDagmoe(be);
                        dumpForDebugging(c, backend, mine);
                        rows = TensorComparison.compare(mine, torch.get(c.name));
                        if (backend.equals(BACKENDS.get(0)))
                            report.computeIfAbsent(c.name, k -> new LinkedHashMap<>()).put("torch-fp32",
                                    TensorComparison.compare(TensorComparison.asCandidate(torch32.get(c.name), mine), torch.get(c.name)));
                    }
                    report.computeIfAbsent(c.name, k -> new LinkedHashMap<>()).put(backend, rows);
                    String fail = TensorComparison.failures(c.name + " [" + backend + "]", rows);
                    assertTrue(fail.isEmpty(), "dagmoe differs from PyTorch:\n" + fail);
                }));
        return tests.stream();
    }

    /** -Dparity.dump=DIR keeps the inputs, the reference's output and dagmoe's tensors there, for diagnosis. */
    private void dumpForDebugging(ParityCase c, String backend, Map<String, float[]> mine) throws java.io.IOException {
        String to = System.getProperty("parity.dump");
        if (to == null || to.isBlank()) return;
        Path out = Path.of(to).resolve(c.name.replaceAll("[^A-Za-z0-9=_-]+", "_"));
        java.nio.file.Files.createDirectories(out);
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
        mine.forEach((k, v) -> t.put(k, new Safetensors.Tensor(new int[] {v.length}, v)));
        Safetensors.write(out.resolve("dagmoe-" + backend + ".safetensors"), t, Map.of());
        Path in = dir.resolve("case" + cases.indexOf(c));
        for (String f : List.of("model.safetensors", "config.json", "batch.json", "train.json",
                "torch-float32.safetensors", "torch-float64.safetensors"))
            java.nio.file.Files.copy(in.resolve(f), out.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void changingTheEdgeGateInTheReferenceFails() {
        assertMutationCaught("edge_gate");
    }

    @Test
    void changingTheInjectionInTheReferenceFails() {
        assertMutationCaught("injection");
    }

    private void assertMutationCaught(String mutation) {
        assumeTrue(TorchReference.available(), TorchReference::unavailableMessage);
        List<TensorComparison.Row> rows;
        try (Backend be = Backends.create("java", 1)) {
            rows = TensorComparison.compare(dagCase().runDagmoe(be), torch.get("mutated:" + mutation));
        }
        String fail = TensorComparison.failures("dag vs reference mutated " + mutation, rows);
        long failed = rows.stream().filter(r -> !r.ok()).count();
        System.out.printf("%nMutation %s in the reference: %d of %d tensors fail, e.g.%n%s", mutation, failed, rows.size(),
                fail.lines().limit(6).map(l -> "  " + l + "\n").reduce("", String::concat));
        assertFalse(fail.isEmpty(), "the parity comparison did not notice the reference's " + mutation + " mutation");
    }

    @AfterAll
    void printReport() {
        if (report.isEmpty()) return;
        StringBuilder sb = new StringBuilder("\nPyTorch parity: worst relative error per tensor against the float64 reference"
                + "\n(java, cpu: dagmoe fp32; torch-fp32: the reference itself in fp32, for scale; not asserted)\n");
        for (var e : report.entrySet()) {
            Map<String, List<TensorComparison.Row>> byBackend = new LinkedHashMap<>();
            for (String col : List.of("java", "cpu", "torch-fp32"))
                if (e.getValue().containsKey(col)) byBackend.put(col, e.getValue().get(col));
            sb.append(String.format("%n== %s ==%n%-44s", e.getKey(), "tensor"));
            for (String b : byBackend.keySet()) sb.append(String.format(" %10s", b));
            sb.append(String.format(" %10s%n", "tolerance"));
            List<TensorComparison.Row> first = byBackend.values().iterator().next();
            for (int i = 0; i < first.size(); i++) {
                TensorComparison.Row r = first.get(i);
                if (r.tensor().startsWith("decay.")) continue; // exact flags; a mismatch fails the test by name
                sb.append(String.format("%-44s", r.tensor()));
                for (List<TensorComparison.Row> rows : byBackend.values()) sb.append(String.format(" %10.2e", rows.get(i).error()));
                sb.append(String.format(" %10.0e%n", r.tolerance()));
            }
        }
        System.out.println(sb);
    }
}
