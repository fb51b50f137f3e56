package dagmoe.backend.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of daemon worker threads that runs {@code parts} pieces of work, piece 0 on the calling
 * thread; with one thread everything runs inline and no thread is ever created.
 *
 * <p>Determinism: a parallel loop is cut into chunks whose boundaries depend only on the loop length and
 * the thread count ({@link #start}); threads claim whole chunks from a counter (so a core that another
 * process slows down simply takes fewer chunks), and every output element is computed by exactly one
 * chunk, in a fixed order, with nothing that depends on which thread runs it. The same inputs and thread
 * count therefore give the same bits; there is no stealing of partial work and no cross-thread reduction
 * whose order could vary.
 */
public final class WorkerPool implements AutoCloseable {

    /** One piece of a parallel job: {@code part} in [0, parts). */
    @FunctionalInterface
    public interface Part {
        void run(int part);
    }

    /** A contiguous index range [from, to) of a parallel loop, run by one thread. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private static final AtomicInteger POOL_IDS = new AtomicInteger();

    private final int threads;
    private final ExecutorService workers;
    private final Future<?>[] pending;

    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("cpu backend: threads = " + threads + ": must be >= 1");
        }
        this.threads = threads;
        this.pending = new Future<?>[threads];
        if (threads == 1) {
            this.workers = null;
        } else {
            int id = POOL_IDS.incrementAndGet();
            AtomicInteger n = new AtomicInteger();
            this.workers = Executors.newFixedThreadPool(threads - 1, r -> {
                Thread t = new Thread(r, "dagmoe-cpu-" + id + "-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
    }

    public int threads() {
        return threads;
    }

    /** Start of part {@code part} of {@code parts} equal contiguous shares of [0, n). */
    public static int start(int n, int parts, int part) {
        return (int) ((long) n * part / parts);
    }

    /** Runs body(0..parts-1), at most {@link #threads()} at a time; returns when all are done. */
    public synchronized void run(int parts, Part body) {
        if (parts <= 1 || workers == null) {
            for (int p = 0; p < parts; p++) {
                body.run(p);
            }
            return;
        }
        if (parts > threads) {
            throw new IllegalArgumentException("parts " + parts + " > threads " + threads);
        }
        for (int p = 1; p < parts; p++) {
            final int part = p;
            pending[p] = workers.submit(() -> body.run(part));
        }
        Throwable failure = null;
        try {
            body.run(0);
        } catch (Throwable t) {
            failure = t;
        }
        for (int p = 1; p < parts; p++) {
            try {
                pending[p].get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) {
                    failure = e;
                }
            }
            pending[p] = null;
        }
        if (failure instanceof RuntimeException) {
            throw (RuntimeException) failure;
        }
        if (failure instanceof Error) {
            throw (Error) failure;
        }
        if (failure != null) {
            throw new IllegalStateException(failure);
        }
    }

    /**
     * Runs body over [0, n) cut into fixed chunks (about {@link #CHUNKS_PER_THREAD} per thread) that the
     * threads claim in turn; inline, in one piece, when the loop is too small to pay for a hand-off
     * ({@code n · costPerIndex < MIN_PARALLEL_WORK}, cost in rough multiply-adds).
     */
    public void forRange(int n, long costPerIndex, Range body) {
        int parts = parts(n, costPerIndex);
        if (parts <= 1) {
            if (n > 0) {
                body.run(0, n);
            }
            return;
        }
        int chunks = Math.min(n, parts * CHUNKS_PER_THREAD);
        forChunks(chunks, parts, (w, c) -> body.run(start(n, chunks, c), start(n, chunks, c + 1)));
    }

    /** Chunks per thread of {@link #forRange}: enough to rebalance when a core is busy, few enough to stay cheap. */
    public static final int CHUNKS_PER_THREAD = 4;

    /** One claimed task of {@link #forChunks}; {@code worker} in [0, threads) names the thread's scratch slot. */
    @FunctionalInterface
    public interface Task {
        void run(int worker, int task);
    }

    /** Runs task(0..tasks-1) on up to {@code parts} threads that claim tasks from a shared counter. */
    public void forChunks(int tasks, int parts, Task task) {
        if (parts <= 1 || tasks <= 1 || workers == null) {
            for (int t = 0; t < tasks; t++) {
                task.run(0, t);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        run(Math.min(parts, Math.min(threads, tasks)), worker -> {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) {
                task.run(worker, t);
            }
        });
    }

    /**
     * Work below this many multiply-adds runs on the calling thread. A hand-off costs ~10-50 µs on an idle
     * machine and far more on a busy one; measured on the 2-core VM (adamw + sumSquares + scale + fill of one
     * tensor, 2 threads): 4,096 floats 37 µs with threshold 2^15 vs 8.6 µs with 2^18; 65,536 floats 290 vs 152 µs.
     * Models have many such small tensors (the dag's per-round matrices, norms).
     */
    public static final long MIN_PARALLEL_WORK = 1L << 18;

    /** How many parts {@link #forRange} uses for this loop. */
    public int parts(int n, long costPerIndex) {
        if (threads == 1 || n <= 1 || (long) n * Math.max(1, costPerIndex) < MIN_PARALLEL_WORK) {
            return 1;
        }
        return Math.min(threads, n);
    }

    @Override
    public void close() {
        if (workers != null) {
            workers.shutdownNow();
        }
    }
}
