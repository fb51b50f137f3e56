package dagmoe.backend.cpu;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;

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
 *
 * <p>Hand-off: a job (with its sequence number) is published through one volatile field. An idle worker
 * spins on it for up to {@link #SPIN_NS} before it parks, and the caller spins for its workers the same way.
 * The back-to-back parallel operations of a training step (hundreds per step, often tens of microseconds
 * each) then hand off without two thread wake-ups each: on the 2-vCPU VM a job of about 6 µs of work with as
 * much serial work between jobs took 69 µs through an executor's queue and futures, 15 µs this way. Past
 * the spin both sides park, so an idle pool costs nothing.
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

    /** How long an idle worker, or a caller waiting for its workers, spins before it parks. */
    static final long SPIN_NS = 200_000;

    private final int threads;
    private final String namePrefix;
    private final Thread[] workers;            // workers[w] runs part w of a job, w in [1, threads); null: inline
    private final AtomicIntegerArray parked;   // 1 while worker w is parked (or about to)
    private final Throwable[] failures;
    private final AtomicInteger remaining = new AtomicInteger();
    private volatile Job current = new Job(0, null, 0, null);
    private volatile boolean callerParked;
    private volatile Thread inFlightCaller;     // the thread whose job is running, null between jobs
    private volatile boolean closed;

    /** One published job: a worker reads all of it through one volatile read. */
    private record Job(long seq, Part body, int parts, Thread caller) {}

    public WorkerPool(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("cpu backend: threads = " + threads + ": must be >= 1");
        }
        this.threads = threads;
        this.failures = new Throwable[threads];
        this.parked = new AtomicIntegerArray(threads);
        if (threads == 1) {
            this.workers = null;
            this.namePrefix = null;
        } else {
            this.namePrefix = "dagmoe-cpu-" + POOL_IDS.incrementAndGet() + "-";
            this.workers = new Thread[threads];
            for (int w = 1; w < threads; w++) {
                final int me = w;
                Thread t = new Thread(() -> workerLoop(me), namePrefix + w);
                t.setDaemon(true);
                workers[w] = t;
            }
            for (int w = 1; w < threads; w++) {
                workers[w].start();
            }
        }
    }

    private void workerLoop(int me) {
        long seen = 0;
        while (true) {
            Job j;
            long spinStart = System.nanoTime();
            while ((j = current).seq() == seen) {
                if (closed) {
                    return;
                }
                if (System.nanoTime() - spinStart < SPIN_NS) {
                    Thread.onSpinWait();
                } else {
                    parked.set(me, 1);
                    // re-checked after the flag is set: either the caller sees the flag and unparks, or we see the job
                    if (current.seq() == seen && !closed) {
                        LockSupport.park(this);
                    }
                    parked.set(me, 0);
                }
            }
            seen = j.seq();
            if (me < j.parts()) {
                try {
                    j.body().run(me);
                } catch (Throwable t) {
                    failures[me] = t;
                }
                if (remaining.decrementAndGet() == 0 && callerParked) {
                    LockSupport.unpark(j.caller());
                }
            }
        }
    }

    public int threads() {
        return threads;
    }

    /** The name prefix of this pool's worker threads (null with one thread). */
    String workerNamePrefix() {
        return namePrefix;
    }

    /** Start of part {@code part} of {@code parts} equal contiguous shares of [0, n). */
    public static int start(int n, int parts, int part) {
        return (int) ((long) n * part / parts);
    }

    /**
     * Runs body(0..parts-1), at most {@link #threads()} at a time; returns when all are done. Called from inside a
     * part of this pool's own job (by one of its workers, or by the caller while its job runs), it runs the parts
     * one after the other on that thread: the workers are busy with the outer job, and waiting for them would
     * deadlock.
     */
    public void run(int parts, Part body) {
        if (parts <= 1 || workers == null || Thread.currentThread() == inFlightCaller || isWorker(Thread.currentThread())) {
            for (int p = 0; p < parts; p++) {
                body.run(p);
            }
            return;
        }
        runShared(parts, body);
    }

    private boolean isWorker(Thread t) {
        for (int w = 1; w < threads; w++) {
            if (workers[w] == t) {
                return true;
            }
        }
        return false;
    }

    private synchronized void runShared(int parts, Part body) {
        if (parts > threads) {
            throw new IllegalArgumentException("parts " + parts + " > threads " + threads);
        }
        if (closed) {
            throw new IllegalStateException("cpu backend: worker pool is closed");
        }
        inFlightCaller = Thread.currentThread();
        remaining.set(parts - 1);
        current = new Job(current.seq() + 1, body, parts, Thread.currentThread());
        for (int w = 1; w < parts; w++) {
            if (parked.get(w) == 1) {
                LockSupport.unpark(workers[w]);
            }
        }
        Throwable failure = null;
        try {
            body.run(0);
        } catch (Throwable t) {
            failure = t;
        }
        long spinStart = System.nanoTime();
        while (remaining.get() > 0) {
            if (System.nanoTime() - spinStart < SPIN_NS) {
                Thread.onSpinWait();
            } else {
                callerParked = true;
                if (remaining.get() > 0) {
                    LockSupport.parkNanos(this, 1_000_000); // a lost wake-up costs at most a millisecond
                }
                callerParked = false;
            }
        }
        inFlightCaller = null;
        for (int p = 1; p < parts; p++) {
            if (failure == null) {
                failure = failures[p];
            }
            failures[p] = null;
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
        if (workers != null && !closed) {
            closed = true;
            for (int w = 1; w < threads; w++) {
                LockSupport.unpark(workers[w]);
            }
        }
    }
}
