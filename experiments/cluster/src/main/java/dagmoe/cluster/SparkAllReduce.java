package dagmoe.cluster;

import org.apache.spark.BarrierTaskContext;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;

/**
 * All-reduce on Spark's own messaging: every replica sends its buffer (Base64 text) to the driver with
 * {@link BarrierTaskContext#allGather}, receives all N, and adds them in rank order. Each replica moves its
 * buffer up and N buffers down through the driver per step, so it suits small models only (README: measured).
 */
final class SparkAllReduce extends MeasuredReplicas {
    private final BarrierTaskContext ctx;

    SparkAllReduce(BarrierTaskContext ctx) {
        super(ctx.partitionId(), ctx.numPartitions());
        this.ctx = ctx;
    }

    @Override
    protected void reduce(float[] grads, double[] stats) {
        if (size == 1) return;
        ByteBuffer b = ByteBuffer.allocate(8 * stats.length + 4 * grads.length).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(stats);
        b.position(8 * stats.length);
        b.asFloatBuffer().put(grads);
        String msg = Base64.getEncoder().encodeToString(b.array());
        sent += msg.length();
        String[] all = ctx.allGather(msg);
        for (int r = 0; r < all.length; r++) {
            ByteBuffer in = ByteBuffer.wrap(Base64.getDecoder().decode(all[r])).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < stats.length; i++) {
                double x = in.getDouble(8 * i);
                stats[i] = r == 0 ? x : stats[i] + x;
            }
            int off = 8 * stats.length;
            for (int i = 0; i < grads.length; i++) {
                float x = in.getFloat(off + 4 * i);
                grads[i] = r == 0 ? x : grads[i] + x;
            }
        }
    }
}
