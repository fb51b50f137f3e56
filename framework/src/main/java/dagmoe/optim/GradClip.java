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
        double sq = 0;
        for (Parameter p : params) sq += be.sumSquares(p.grad(), p.size());
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            float coef = (float) (maxNorm / norm);
            for (Parameter p : params) be.scale(p.grad(), p.size(), coef);
        }
        return norm;
    }
}
