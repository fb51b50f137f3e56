package dagmoe.backend.cpu;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fixed set of daemon worker threads that runs {@code parts} pieces of work, piece 0 on the calling
 * thread. Work is split into FIXED contiguous ranges ({@link #start}), never stolen, so every output
 * element is computed by one thread in one order: the same inputs and thread count give the same bits.
 * With one thread everything runs inline and no thread is ever created.
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
     * Splits [0, n) into fixed contiguous ranges, one per thread, and runs them; inline when the loop is too
     * small to pay for a hand-off ({@code n · costPerIndex < minWork}, cost in rough multiply-adds).
     */
    public void forRange(int n, long costPerIndex, Range body) {
        int parts = parts(n, costPerIndex);
        if (parts <= 1) {
            if (n > 0) {
                body.run(0, n);
            }
            return;
        }
        run(parts, part -> body.run(start(n, parts, part), start(n, parts, part + 1)));
    }

    /** Work below this many multiply-adds runs on the calling thread (a hand-off costs ~10-50 µs). */
    public static final long MIN_PARALLEL_WORK = 1L << 15;

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
