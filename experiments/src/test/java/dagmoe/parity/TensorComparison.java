package dagmoe.parity;

import dagmoe.train.Safetensors;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Compares the dagmoe side of a parity case with parity.py's output, tensor by tensor.
 *
 * <p>Error of a tensor: max_i |dagmoe_i − torch_i| / max_i |torch_i| (relative to the tensor's scale, so
 * elements near zero do not blow it up). Parameters after the steps are compared by their UPDATE:
 * max_i |after_dagmoe − after_torch| / max_i |after_torch − before|, stricter than relative to the weights.
 */
final class TensorComparison {
    private TensorComparison() {}

    /**
     * Tolerances against the float64 reference, as tight as fp32 allows: the reference itself in float32
     * (PyTorch fp32 vs PyTorch fp64) stays below them on every case with a margin (see the printed table).
     * Parameters after 10 AdamW steps get the loosest: Adam divides by sqrt(v), so an element whose gradient
     * is 1e-4 of the tensor's largest turns an fp32 rounding of 1e-7 into an update error of 1e-3. Per-step
     * values are compared along the 10-step trajectory, where fp32 differences compound (most in the
     * inject=false case, which has no residual path through its MoE blocks). Worst errors measured over all
     * cases and both backends: logits 1.9e-6, losses 2.1e-7, gradients 1.0e-5, updates 1.3e-3, per-step
     * losses 8.5e-6, per-step gradient norms 1.9e-4 (PyTorch fp32 has the same orders); each tolerance is
     * 4-6x the worst.
     */
    static final double TOL_LOGITS = 1e-5, TOL_LOSS = 1e-6, TOL_GRAD = 5e-5, TOL_UPDATE = 5e-3, TOL_STEP_LOSS = 5e-5,
            TOL_STEP_NORM = 1e-3;

    /** A parity.py output as the side under test (before.* and decay.* taken from {@code like}). */
    static Map<String, float[]> asCandidate(Map<String, Safetensors.Tensor> torch, Map<String, float[]> like) {
        Map<String, float[]> m = new java.util.LinkedHashMap<>();
        torch.forEach((k, v) -> m.put(k, v.data()));
        like.forEach((k, v) -> { if (k.startsWith("before.") || k.startsWith("decay.")) m.put(k, v); });
        return m;
    }

    record Row(String tensor, double error, double tolerance) {
        boolean ok() { return error <= tolerance; } // NaN fails
    }

    /**
     * Every tensor of {@code dagmoe} (the side under test, with before.&lt;name&gt; and decay.&lt;name&gt;) against
     * {@code torch} (a parity.py output).
     */
    static List<Row> compare(Map<String, float[]> dagmoe, Map<String, Safetensors.Tensor> torch) {
        List<Row> rows = new ArrayList<>();
        TreeSet<String> javaNames = new TreeSet<>(), torchNames = new TreeSet<>();
        for (String k : dagmoe.keySet()) if (k.startsWith("before.")) javaNames.add(k.substring(7));
        for (String k : torch.keySet()) if (k.startsWith("grad.")) torchNames.add(k.substring(5));
        if (!javaNames.equals(torchNames)) {
            TreeSet<String> onlyJava = new TreeSet<>(javaNames), onlyTorch = new TreeSet<>(torchNames);
            onlyJava.removeAll(torchNames);
            onlyTorch.removeAll(javaNames);
            throw new AssertionError("parameter names differ: only dagmoe " + onlyJava + ", only torch " + onlyTorch);
        }
        rows.add(new Row("logits", rel(dagmoe.get("logits"), data(torch, "logits")), TOL_LOGITS));
        for (String k : List.of("lm", "balance", "z", "loss"))
            rows.add(new Row(k, rel(dagmoe.get(k), data(torch, k)), TOL_LOSS));
        for (String k : List.of("losses", "lm_losses", "balance_losses", "z_losses"))
            rows.add(new Row(k + "[10 steps]", elementwiseRel(dagmoe.get(k), data(torch, k)), TOL_STEP_LOSS));
        rows.add(new Row("grad_norms[10 steps]", elementwiseRel(dagmoe.get("grad_norms"), data(torch, "grad_norms")), TOL_STEP_NORM));
        for (String n : javaNames) {
            float d = dagmoe.get("decay." + n)[0], t = data(torch, "decay." + n)[0];
            rows.add(new Row("decay." + n, d == t ? 0 : Double.POSITIVE_INFINITY, 0));
        }
        for (String n : javaNames) rows.add(new Row("grad." + n, rel(dagmoe.get("grad." + n), data(torch, "grad." + n)), TOL_GRAD));
        for (String n : javaNames)
            rows.add(new Row("after." + n, updateRel(dagmoe.get("after." + n), data(torch, "after." + n),
                    dagmoe.get("before." + n)), TOL_UPDATE));
        return rows;
    }

    static float[] data(Map<String, Safetensors.Tensor> torch, String name) {
        Safetensors.Tensor t = torch.get(name);
        if (t == null) throw new AssertionError("parity.py output has no tensor " + name);
        return t.data();
    }

    /** max|a − b| / max|b|; 0 when both are all zero. */
    static double rel(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs((double) b[i]));
            if (Double.isNaN(a[i]) || Double.isNaN(b[i])) return Double.NaN;
        }
        return diff == 0 ? 0 : diff / scale;
    }

    /** max_i |a_i − b_i| / |b_i| (for short series of scalars such as per-step losses). */
    static double elementwiseRel(float[] a, float[] b) {
        if (a.length != b.length) return Double.POSITIVE_INFINITY;
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double diff = Math.abs((double) a[i] - b[i]);
            worst = Math.max(worst, diff == 0 ? 0 : diff / Math.abs((double) b[i]));
            if (Double.isNaN(a[i]) || Double.isNaN(b[i])) return Double.NaN;
        }
        return worst;
    }

    /** max|a − b| / max|b − before|. */
    static double updateRel(float[] a, float[] b, float[] before) {
        if (a.length != b.length || b.length != before.length) return Double.POSITIVE_INFINITY;
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs((double) a[i] - b[i]));
            scale = Math.max(scale, Math.abs((double) b[i] - before[i]));
            if (Double.isNaN(a[i]) || Double.isNaN(b[i])) return Double.NaN;
        }
        return diff == 0 ? 0 : diff / scale;
    }

    /** The failing rows as one message per line: "<case> [backend]: <tensor>: relative error E > tolerance T". */
    static String failures(String label, List<Row> rows) {
        StringBuilder sb = new StringBuilder();
        for (Row r : rows)
            if (!r.ok())
                sb.append(String.format("%s: %s: relative error %.3e > tolerance %.1e%n", label, r.tensor(), r.error(), r.tolerance()));
        return sb.toString();
    }
}
