package dagmoe.data.tasks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dagmoe.data.DataException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TaskTest {
    static final int F = ReasoningTask.FIRST;

    // ---- independent references, written from the task descriptions

    /** hops: read the pairs "a → b ," from the tokens, follow k arrows from the query symbol. */
    static int hopsAnswer(int[] t, int n) {
        Map<Integer, Integer> f = new HashMap<>();
        int i = 0;
        while (t[i] != ReasoningTask.QUERY) {
            assertEquals(ReasoningTask.MAP, t[i + 1]);
            assertEquals(ReasoningTask.SEP, t[i + 3]);
            assertTrue(f.put(t[i], t[i + 2]) == null, "each symbol is mapped once");
            i += 4;
        }
        assertEquals(n, f.size());
        int x = t[i + 1], k = t[i + 2] - (F + n) + 1;
        for (int h = 0; h < k; h++) x = f.get(x);
        return x;
    }

    /** compose: ((a op b) op c) ... mod p with BigInteger arithmetic. */
    static int composeAnswer(int[] t, int p) {
        java.math.BigInteger acc = java.math.BigInteger.valueOf(t[0] - F), mod = java.math.BigInteger.valueOf(p);
        int i = 1;
        for (; t[i] != ReasoningTask.ANSWER; i += 2) {
            java.math.BigInteger v = java.math.BigInteger.valueOf(t[i + 1] - F);
            acc = switch ("+-*".charAt(t[i] - F - p)) {
                case '+' -> acc.add(v);
                case '-' -> acc.subtract(v);
                default -> acc.multiply(v);
            };
            acc = acc.mod(mod);
        }
        return F + acc.intValue();
    }

    /** lis: try every subset. */
    static int lisBruteForce(int[] x) {
        int best = 0;
        for (int mask = 1; mask < (1 << x.length); mask++) {
            int last = Integer.MIN_VALUE, len = 0;
            boolean inc = true;
            for (int i = 0; i < x.length && inc; i++) {
                if ((mask >> i & 1) == 0) continue;
                inc = x[i] > last;
                last = x[i];
                len++;
            }
            if (inc) best = Math.max(best, len);
        }
        return best;
    }

    static void checkCommon(TaskDataset d) {
        ReasoningTask task = d.task();
        for (Example e : d.testSet()) {
            assertTrue(e.tokens().length <= task.maxLength());
            for (int t : e.tokens()) assertTrue(t > 0 && t < task.vocabSize(), "token " + t + " in vocab " + task.vocabSize());
            assertEquals(ReasoningTask.ANSWER, e.tokens()[e.answerStart() - 1]);
            assertArrayEquals(e.answer(), task.solve(Arrays.copyOf(e.tokens(), e.answerStart())));
            assertTrue(e.level() >= 1 && e.level() <= task.maxLevel());
        }
    }

    @Test
    void hopsAnswersMatchFollowingTheArrows() {
        for (String fn : new String[] {"random", "permutation"}) {
            TaskDataset d = TaskDataset.create("hops", Map.of("n", 10, "k_max", 4, "function", fn, "test_size", 500), 0);
            assertEquals(F + 10 + 4, d.vocabSize());
            assertEquals(4 * 10 + 4, d.seqLen());
            checkCommon(d);
            int[] perK = new int[5];
            for (Example e : d.testSet()) {
                assertEquals(hopsAnswer(e.tokens(), 10), e.answer()[0]);
                perK[e.level()]++;
            }
            for (int k = 1; k <= 4; k++) assertTrue(perK[k] > 80, "k=" + k + ": " + perK[k]);
        }
        // permutation: the pairs' targets are all distinct
        Example e = TaskDataset.create("hops", Map.of("n", 6, "function", "permutation"), 0).testSet().get(0);
        Set<Integer> targets = new HashSet<>();
        for (int i = 0; i < 24; i += 4) targets.add(e.tokens()[i + 2]);
        assertEquals(6, targets.size());
    }

    @Test
    void composeAnswersMatchBigIntegerEvaluation() {
        TaskDataset d = TaskDataset.create("compose", Map.of("p", 13, "steps_min", 2, "steps_max", 3), 16);
        assertEquals(F + 13 + 3, d.vocabSize());
        assertEquals(16, d.seqLen());
        checkCommon(d);
        Set<Integer> levels = new HashSet<>();
        for (Example e : d.testSet()) {
            assertEquals(composeAnswer(e.tokens(), 13), e.answer()[0]);
            levels.add(e.level());
        }
        assertEquals(Set.of(2, 3), levels);
    }

    @Test
    void lisAnswersMatchBruteForceOverSubsets() {
        TaskDataset d = TaskDataset.create("lis", Map.of("length", 10, "min_length", 6, "max_value", 8), 0);
        assertEquals(F + 11, d.vocabSize());
        checkCommon(d);
        Set<Integer> answers = new HashSet<>();
        for (Example e : d.testSet()) {
            int[] x = Arrays.copyOf(e.tokens(), e.answerStart() - 1);
            assertEquals(F + lisBruteForce(x), e.answer()[0], Arrays.toString(x));
            answers.add(e.level());
        }
        assertTrue(answers.size() >= 4, "answers " + answers);
    }

    @Test
    void sameSeedSameDataAndSplitsDisjoint() {
        for (String task : TaskDataset.TASKS) {
            Map<String, Object> params = Map.of("test_size", 300);
            TaskDataset a = TaskDataset.create(task, params, 0), b = TaskDataset.create(task, params, 0);
            assertEquals(a.testSet(), b.testSet());
            assertEquals(300, new HashSet<>(a.testSet()).size(), "test examples distinct");
            TaskDataset other = TaskDataset.create(task, Map.of("test_size", 300, "seed", 5), 0);
            assertNotEquals(a.testSet(), other.testSet());

            Set<List<Integer>> test = new HashSet<>();
            for (Example e : a.testSet()) test.add(Arrays.stream(e.tokens()).boxed().toList());
            TaskDataset.TrainStream s1 = a.trainStream(7), s2 = b.trainStream(7);
            List<Example> train = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                Example e = s1.next();
                assertEquals(e, s2.next(), "same train seed, same stream");
                assertFalse(test.contains(Arrays.stream(e.tokens()).boxed().toList()), task + ": train example in the test set");
                train.add(e);
            }
            assertNotEquals(train.get(0), a.trainStream(8).next());
        }
    }

    @Test
    void smallTaskSpacesStillGiveDisjointSplits() {
        // compose with p = 3, one step, '+' only: 9 distinct examples; 5 go to test
        TaskDataset d = TaskDataset.create("compose", Map.of("p", 3, "steps_min", 1, "steps_max", 1, "ops", "+", "test_size", 5), 0);
        TaskDataset.TrainStream s = d.trainStream(1);
        Set<Example> seen = new HashSet<>();
        for (int i = 0; i < 500; i++) {
            Example e = s.next();
            assertFalse(d.inTestSet(e));
            seen.add(e);
        }
        assertEquals(4, seen.size());
        DataException e = assertThrows(DataException.class,
                () -> TaskDataset.create("compose", Map.of("p", 3, "steps_min", 1, "steps_max", 1, "ops", "+", "test_size", 10), 0));
        assertTrue(e.getMessage().contains("test_size"), e.getMessage());
    }

    @Test
    void streamResumesFromItsCursor() {
        TaskDataset d = TaskDataset.create("hops", Map.of(), 0);
        TaskDataset.TrainStream a = d.trainStream(3);
        List<TaskBatch> straight = new ArrayList<>();
        for (int i = 0; i < 6; i++) straight.add(a.nextBatch(4, false));
        TaskDataset.TrainStream b = d.trainStream(3);
        for (int i = 0; i < 2; i++) b.nextBatch(4, false);
        TaskDataset.TrainStream c = d.trainStream(3);
        c.seek(b.cursor());
        int[] in = new int[4 * d.seqLen()], tg = new int[4 * d.seqLen()];
        c.next(in, tg, false);
        assertArrayEquals(straight.get(2).batch().inputs(), in);
        assertArrayEquals(straight.get(2).batch().targets(), tg);
        for (int i = 3; i < 6; i++) {
            TaskBatch x = c.nextBatch(4, false);
            assertArrayEquals(straight.get(i).batch().inputs(), x.batch().inputs());
            assertArrayEquals(straight.get(i).batch().targets(), x.batch().targets());
        }
    }

    @Test
    void batchTargetsAndExactMatch() {
        TaskDataset d = TaskDataset.create("compose", Map.of("steps_min", 3, "steps_max", 3, "test_size", 10), 12);
        List<Example> ex = d.testSet().subList(0, 3);
        TaskBatch answerOnly = d.toBatch(ex, 4, false), all = d.toBatch(ex, 4, true);
        int s = 12;
        for (int b = 0; b < 3; b++) {
            int[] t = ex.get(b).tokens(); // 9 tokens: a op b op c op d = ans
            for (int i = 0; i < s; i++) {
                assertEquals(i < t.length ? t[i] : ReasoningTask.PAD, answerOnly.batch().inputs()[b * s + i]);
                int wantAnswer = i == 7 ? t[8] : -1;
                assertEquals(wantAnswer, answerOnly.batch().targets()[b * s + i], "answer-only target " + i);
                assertEquals(wantAnswer, answerOnly.answerTargets()[b * s + i]);
                assertEquals(i + 1 < t.length ? t[i + 1] : -1, all.batch().targets()[b * s + i], "all target " + i);
            }
        }
        for (int i = 3 * s; i < 4 * s; i++) assertEquals(-1, all.batch().targets()[i]);
        assertEquals(3, answerOnly.examples());
        // exact match: the oracle argmax is right everywhere; break row 1
        int[] argmax = new int[4 * s];
        for (int i = 0; i < argmax.length; i++) argmax[i] = Math.max(0, answerOnly.answerTargets()[i]);
        Accuracy acc = new Accuracy();
        acc.add(answerOnly, argmax);
        assertEquals(1.0, acc.accuracy());
        argmax[s + 7]++;
        Accuracy acc2 = new Accuracy();
        acc2.add(answerOnly, argmax);
        assertEquals(2.0 / 3, acc2.accuracy(), 1e-12);
        assertEquals(Map.of(3, 2.0 / 3), acc2.byLevel());
        // test batches cover the test set once
        List<TaskBatch> tb = d.testBatches(4, false);
        assertEquals(3, tb.size());
        assertEquals(10, tb.stream().mapToInt(TaskBatch::examples).sum());
    }

    @Test
    void badParametersNameTheField() {
        DataException e = assertThrows(DataException.class, () -> TaskDataset.create("hops", Map.of("nn", 3), 0));
        assertTrue(e.getMessage().contains("data.task_params.nn") && e.getMessage().contains("k_max"), e.getMessage());
        e = assertThrows(DataException.class, () -> TaskDataset.create("hops", Map.of("k_max", 0), 0));
        assertTrue(e.getMessage().contains("data.task_params.k_max = 0"), e.getMessage());
        e = assertThrows(DataException.class, () -> TaskDataset.create("lis", Map.of("length", "eight"), 0));
        assertTrue(e.getMessage().contains("data.task_params.length"), e.getMessage());
        e = assertThrows(DataException.class, () -> TaskDataset.create("hops", Map.of("n", 16), 32));
        assertTrue(e.getMessage().contains("model.seq_len = 32") && e.getMessage().contains("68"), e.getMessage());
        e = assertThrows(DataException.class, () -> TaskDataset.create("sorting", Map.of(), 0));
        assertTrue(e.getMessage().contains("data.task = sorting"), e.getMessage());
        // strings from --set overrides are accepted
        assertEquals(F + 5 + 4, TaskDataset.create("hops", Map.of("n", "5"), 0).vocabSize());
    }
}
