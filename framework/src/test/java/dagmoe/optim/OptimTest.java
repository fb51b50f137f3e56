package dagmoe.optim;

import dagmoe.backend.Backend;
import dagmoe.backend.Backends;
import dagmoe.model.Parameter;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** AdamW against a naive double-precision implementation; schedule values; global-norm clipping. */
class OptimTest {
    static final Backend BE = Backends.create("java", 1);

    static Parameter param(String name, int n, boolean decay, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) w[i] = (float) (r.nextDouble() * 2 - 1);
        return new Parameter(name, new int[] {n}, w, new float[n], decay);
    }

    @Test
    void adamwMatchesNaiveDouble() {
        Parameter a = param("a", 37, true, 1), b = param("b.norm", 5, false, 2);
        List<Parameter> ps = List.of(a, b);
        float b1 = 0.9f, b2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        AdamW opt = new AdamW(ps, b1, b2, eps, wd, BE);
        double[][] p = {toD(a.data()), toD(b.data())}, m = new double[2][], v = new double[2][];
        for (int i = 0; i < 2; i++) { m[i] = new double[p[i].length]; v[i] = new double[p[i].length]; }
        SplittableRandom r = new SplittableRandom(3);
        for (int t = 1; t <= 20; t++) {
            double lr = 1e-2 * (1 + t % 3);
            for (int i = 0; i < 2; i++) {
                Parameter q = ps.get(i);
                for (int k = 0; k < q.size(); k++) q.grad()[k] = (float) (r.nextDouble() - 0.4);
                double decay = q.decay() ? wd : 0;
                for (int k = 0; k < q.size(); k++) {
                    double g = q.grad()[k];
                    m[i][k] = b1 * m[i][k] + (1 - b1) * g;
                    v[i][k] = b2 * v[i][k] + (1 - b2) * g * g;
                    double mh = m[i][k] / (1 - Math.pow(b1, t)), vh = v[i][k] / (1 - Math.pow(b2, t));
                    p[i][k] -= lr * (mh / (Math.sqrt(vh) + eps) + decay * p[i][k]);
                }
            }
            opt.step((float) lr);
        }
        assertEquals(20, opt.stepCount());
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < p[i].length; k++) {
                assertEquals(p[i][k], ps.get(i).data()[k], 2e-5, ps.get(i).name() + "[" + k + "]");
                assertEquals(m[i][k], opt.m(i)[k], 1e-6);
                assertEquals(v[i][k], opt.v(ps.get(i).name())[k], 1e-6);
            }
    }

    @Test
    void decayAllDecaysNormsToo() {
        Parameter n1 = param("x.norm", 4, false, 1), n2 = param("x.norm", 4, false, 1);
        for (Parameter q : List.of(n1, n2)) java.util.Arrays.fill(q.grad(), 0f);
        new AdamW(List.of(n1), 0.9f, 0.95f, 1e-8f, 0.5f, false, BE).step(0.1f);
        new AdamW(List.of(n2), 0.9f, 0.95f, 1e-8f, 0.5f, true, BE).step(0.1f);
        float w0 = param("x.norm", 4, false, 1).data()[0];
        assertEquals(w0, n1.data()[0], 0f);                       // zero grad, no decay: unchanged
        assertEquals(w0 * (1 - 0.1f * 0.5f), n2.data()[0], 1e-6); // p -= lr·wd·p
    }

    @Test
    void stateRoundTrips() {
        Parameter a = param("a", 6, true, 1);
        AdamW opt = new AdamW(List.of(a), 0.9f, 0.95f, 1e-8f, 0f, BE);
        float[] m = {1, 2, 3, 4, 5, 6}, v = {1, 1, 1, 1, 1, 1};
        opt.setState("a", m, v);
        opt.setStepCount(7);
        assertEquals(7, opt.stepCount());
        assertEquals(3f, opt.m("a")[2]);
        assertThrows(IllegalArgumentException.class, () -> opt.setState("a", new float[2], new float[6]));
        assertThrows(IllegalArgumentException.class, () -> opt.setState("nope", m, v));
    }

    @Test
    void scheduleWarmupThenCosine() {
        // warmup 10, total 110, max 1e-3, min 1e-4
        assertEquals(1e-4, LrSchedule.at(0, 10, 110, 1e-3, 1e-4), 1e-15);           // (0+1)/10 · max
        assertEquals(5e-4, LrSchedule.at(4, 10, 110, 1e-3, 1e-4), 1e-15);
        assertEquals(1e-3, LrSchedule.at(10, 10, 110, 1e-3, 1e-4), 1e-15);          // cosine starts at max
        assertEquals(5.5e-4, LrSchedule.at(60, 10, 110, 1e-3, 1e-4), 1e-15);        // half way: (max+min)/2
        assertEquals(1e-4 + 0.5 * (1 + Math.cos(Math.PI * 0.25)) * 9e-4, LrSchedule.at(35, 10, 110, 1e-3, 1e-4), 1e-15);
        assertEquals(1e-4, LrSchedule.at(110, 10, 110, 1e-3, 1e-4), 1e-15);
        assertEquals(1e-4, LrSchedule.at(500, 10, 110, 1e-3, 1e-4), 1e-15);
        assertEquals(1e-3, LrSchedule.at(0, 0, 100, 1e-3, 0), 1e-15);               // no warm-up
    }

    @Test
    void clipGlobalNorm() {
        Parameter a = param("a", 3, true, 1), b = param("b", 2, true, 2);
        float[] ga = {3, 0, 0}, gb = {0, 4};
        System.arraycopy(ga, 0, a.grad(), 0, 3);
        System.arraycopy(gb, 0, b.grad(), 0, 2);
        assertEquals(5.0, GradClip.clipGlobalNorm(List.of(a, b), 10f, BE), 1e-12); // below: untouched
        assertEquals(3f, a.grad()[0]);
        assertEquals(5.0, GradClip.clipGlobalNorm(List.of(a, b), 1f, BE), 1e-12);  // returns the pre-clip norm
        assertEquals(0.6f, a.grad()[0], 1e-6);
        assertEquals(0.8f, b.grad()[1], 1e-6);
        assertEquals(1.0, GradClip.clipGlobalNorm(List.of(a, b), 0f, BE), 1e-6);   // 0: measure only
        assertEquals(0.6f, a.grad()[0], 1e-6);
    }

    static double[] toD(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
