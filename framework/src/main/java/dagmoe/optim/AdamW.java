package dagmoe.optim;

import dagmoe.backend.Backend;
import dagmoe.model.Parameter;

import java.util.List;

/**
 * AdamW with decoupled weight decay (Loshchilov &amp; Hutter), one {@link Backend#adamw} call per parameter:
 * m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;  p −= lr·( m̂/(√v̂ + eps) + wd·p ), bias corrections
 * 1−β^t computed in double. Weight decay applies to a parameter when {@link Parameter#decay()} is true
 * (the model marks matrices true, norm scales and embeddings false), or to every parameter when
 * constructed with {@code decayAll} (config train.decay_all).
 */
public final class AdamW {
    private final List<Parameter> params;
    private final float beta1, beta2, eps, weightDecay;
    private final boolean decayAll;
    private final Backend be;
    private final float[][] m, v;
    private int step;

    public AdamW(List<Parameter> params, float beta1, float beta2, float eps, float weightDecay, Backend backend) {
        this(params, beta1, beta2, eps, weightDecay, false, backend);
    }

    public AdamW(List<Parameter> params, float beta1, float beta2, float eps, float weightDecay, boolean decayAll,
                 Backend backend) {
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("train.beta1 = " + beta1 + ": must be in [0, 1)");
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("train.beta2 = " + beta2 + ": must be in [0, 1)");
        if (!(eps > 0)) throw new IllegalArgumentException("train.eps = " + eps + ": must be > 0");
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("train.weight_decay = " + weightDecay + ": must be >= 0");
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.decayAll = decayAll;
        this.be = backend;
        m = new float[this.params.size()][];
        v = new float[this.params.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = new float[this.params.get(i).size()];
            v[i] = new float[this.params.get(i).size()];
        }
    }

    /** One update of every parameter from its current gradient, at learning rate lr. */
    public void step(float lr) {
        step++;
        float bc1 = (float) (1.0 - Math.pow(beta1, step));
        float bc2 = (float) (1.0 - Math.pow(beta2, step));
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            float wd = decayAll || p.decay() ? weightDecay : 0f;
            be.adamw(p.data(), p.grad(), m[i], v[i], p.size(), lr, beta1, beta2, eps, wd, bc1, bc2);
        }
    }

    /** Number of steps taken (the t of the bias corrections). */
    public int stepCount() { return step; }

    public List<Parameter> parameters() { return params; }

    /**
     * First moment of parameter i (live array, order of {@link #parameters()}). On a device backend call
     * {@code backend.toHost(m(i))} before reading it, {@code backend.hostWrote(m(i))} after writing it.
     */
    public float[] m(int i) { return m[i]; }

    /** Second moment of parameter i (live array). */
    public float[] v(int i) { return v[i]; }

    /** First moment of the named parameter (live array). */
    public float[] m(String name) { return m[index(name)]; }

    public float[] v(String name) { return v[index(name)]; }

    private int index(String name) {
        for (int i = 0; i < params.size(); i++) if (params.get(i).name().equals(name)) return i;
        throw new IllegalArgumentException("AdamW has no parameter named " + name);
    }

    /** Restores a checkpointed state: step count and the moments of the named parameter (copied). */
    public void setState(String name, float[] mState, float[] vState) {
        int i = index(name);
        if (mState.length != m[i].length || vState.length != v[i].length)
            throw new IllegalArgumentException("optimizer state for " + name + ": expected " + m[i].length
                    + " elements, got m " + mState.length + ", v " + vState.length);
        System.arraycopy(mState, 0, m[i], 0, mState.length);
        System.arraycopy(vState, 0, v[i], 0, vState.length);
        be.hostWrote(m[i], v[i]);
    }

    public void setStepCount(int step) {
        if (step < 0) throw new IllegalArgumentException("optimizer step = " + step + ": must be >= 0");
        this.step = step;
    }
}
