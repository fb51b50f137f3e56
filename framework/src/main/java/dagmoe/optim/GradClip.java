package dagmoe.optim;

import dagmoe.backend.Backend;
import dagmoe.model.Parameter;

import java.util.List;

/** Global-norm gradient clipping (the PyTorch reference's formula: scale by maxNorm/norm when norm > maxNorm). */
public final class GradClip {
    private GradClip() {}

    /**
     * The global L2 norm of all gradients (summed in double in parameter order, so deterministic); when
     * it exceeds maxNorm (> 0), every gradient is scaled by maxNorm/norm. Returns the norm
     * before clipping. maxNorm &lt;= 0 only measures.
     */
    public static double clipGlobalNorm(List<Parameter> params, float maxNorm, Backend be) {
        double[] norm = new double[1];
        clipGlobalNorm(params, maxNorm, be, norm);
        be.toHost(norm);
        return norm[0];
    }

    /**
     * As above ({@link Backend#clipGlobalNorm}), leaving the norm in {@code norm[0]} where the backend computed it:
     * a device backend needs {@code be.toHost(norm)} before it is read.
     */
    public static void clipGlobalNorm(List<Parameter> params, float maxNorm, Backend be, double[] norm) {
        float[][] grads = new float[params.size()][];
        int[] sizes = new int[params.size()];
        for (int i = 0; i < grads.length; i++) {
            grads[i] = params.get(i).grad();
            sizes[i] = params.get(i).size();
        }
        be.clipGlobalNorm(grads, sizes, maxNorm, norm);
    }
}
