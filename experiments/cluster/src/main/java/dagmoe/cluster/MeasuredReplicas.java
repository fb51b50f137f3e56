package dagmoe.cluster;

import dagmoe.train.Replicas;

/** A replica's all-reduce with its cost counted: calls, time inside (and waiting), bytes this replica sent. */
abstract class MeasuredReplicas implements Replicas {
    final int rank, size;
    long calls, nanos, sent;
    long waitNanos; // part of nanos spent waiting for the other replicas to arrive (where the transport can tell)

    MeasuredReplicas(int rank, int size) {
        this.rank = rank;
        this.size = size;
    }

    @Override public int rank() { return rank; }

    @Override public int size() { return size; }

    @Override
    public final void allReduce(float[] grads, double[] stats) {
        long t0 = System.nanoTime();
        reduce(grads, stats);
        nanos += System.nanoTime() - t0;
        calls++;
    }

    /** The sums over the replicas, in rank order, into grads and stats. */
    protected abstract void reduce(float[] grads, double[] stats);

}
