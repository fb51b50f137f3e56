package dagmoe.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The pool's hand-off: every part of every job runs exactly once, failures reach the caller, close stops it. */
class WorkerPoolTest {
    @Test
    void everyPartOfEveryJobRunsOnceWhateverThePartCounts() {
        try (WorkerPool pool = new WorkerPool(4)) {
            int jobs = 20_000;
            AtomicIntegerArray runs = new AtomicIntegerArray(jobs * 4);
            for (int j = 0; j < jobs; j++) {
                int parts = 1 + j % 4; // alternate 1..4 parts, so idle workers see jobs they take no part in
                final int job = j;
                pool.run(parts, part -> runs.incrementAndGet(job * 4 + part));
                for (int p = 0; p < 4; p++) {
                    assertEquals(p < parts ? 1 : 0, runs.get(j * 4 + p), "job " + j + " part " + p);
                }
            }
        }
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // without the nesting rule it deadlocks
    void aJobStartedInsideAPartRunsItsPartsOnThatThread() {
        try (WorkerPool pool = new WorkerPool(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(2 * 2);
            pool.run(2, outer -> pool.run(2, inner -> runs.incrementAndGet(outer * 2 + inner)));
            for (int outer = 0; outer < 2; outer++) {
                for (int inner = 0; inner < 2; inner++) {
                    assertEquals(1, runs.get(outer * 2 + inner), "outer part " + outer + ", inner part " + inner);
                }
            }
            int[] seen = new int[2];
            pool.run(2, part -> seen[part] = part + 1); // the pool still works after the nested jobs
            assertArrayEquals(new int[] {1, 2}, seen);
        }
    }

    @Test
    void aFailingPartReachesTheCallerAndThePoolKeepsWorking() {
        try (WorkerPool pool = new WorkerPool(2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pool.run(2, part -> {
                if (part == 1) throw new IllegalArgumentException("part 1 failed");
            }));
            assertEquals("part 1 failed", e.getMessage());
            assertThrows(AssertionError.class, () -> pool.run(2, part -> {
                if (part == 1) throw new AssertionError("an error");
            }));
            int[] seen = new int[2];
            pool.run(2, part -> seen[part] = part + 10);
            assertArrayEquals(new int[] {10, 11}, seen);
        }
    }

    @Test
    void parkedWorkersWakeForTheNextJobAndCloseStopsThem() throws InterruptedException {
        WorkerPool pool = new WorkerPool(3);
        int[] seen = new int[3];
        for (int round = 0; round < 3; round++) {
            Thread.sleep(2 * WorkerPool.SPIN_NS / 1_000_000 + 5); // past the spin: the workers park
            final int r = round;
            pool.run(3, part -> seen[part] += r + 1);
        }
        assertArrayEquals(new int[] {6, 6, 6}, seen);
        pool.close();
        Thread.sleep(50);
        String prefix = pool.workerNamePrefix();
        long alive = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
        assertEquals(0, alive, "workers stopped after close");
        assertThrows(IllegalStateException.class, () -> pool.run(2, part -> { }));
    }
}
