package dagmoe.data.tasks;

import dagmoe.data.Batch;
import dagmoe.data.DataException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A reasoning task (data.task) with its held-out test set and a resumable train stream.
 *
 * <p>Test set: test_size distinct examples (task_params.test_size, 1000) drawn from the data seed
 * task_params.seed (0), independent of train.seed, so every seed and variant is scored on the same
 * examples. Train stream: example c comes from a SplittableRandom seeded by a hash of (train seed, c);
 * any example equal to a test example (compared by content through a hash set) is skipped, so the
 * splits are disjoint. The stream's whole state is its cursor (examples drawn so far).
 *
 * <p>Sequences: an example is padded with {@link ReasoningTask#PAD} to seqLen + 1 tokens; inputs =
 * tokens[0..S), targets = tokens[1..S] where the loss counts them: loss_on = "answer": only the
 * answer token(s) (-1 elsewhere); "all": every real (non-pad) next token.
 */
public final class TaskDataset {
    public static final List<String> TASKS = List.of(HopsTask.NAME, ComposeTask.NAME, LisTask.NAME);
    private static final long TRAIN_SALT = 0x747261696E5F5F5FL, TEST_SALT = 0x746573745F5F5F5FL;
    private static final int MAX_SKIPS = 10_000;

    private final ReasoningTask task;
    private final int seqLen;
    private final List<Example> test;
    private final Set<Key> testKeys = new HashSet<>();

    /** Exact content key of an example's tokens. */
    private record Key(int[] t) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(t, k.t);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(t);
        }
    }

    private TaskDataset(ReasoningTask task, int seqLen, long dataSeed, int testSize) {
        this.task = task;
        this.seqLen = seqLen;
        this.test = new ArrayList<>(testSize);
        long base = mix64(dataSeed ^ TEST_SALT);
        for (long j = 0; test.size() < testSize; j++) {
            if (j - test.size() > MAX_SKIPS) {
                throw new DataException("data.task_params.test_size = " + testSize + ": task " + task.name() + " with these parameters has only about "
                        + test.size() + " distinct examples; lower test_size or make the task larger");
            }
            Example e = task.sample(new SplittableRandom(mix64(base + j * 0x9E3779B97F4A7C15L)));
            if (testKeys.add(new Key(e.tokens()))) test.add(e);
        }
    }

    /**
     * The task named by data.task with data.task_params; seqLen = model.seq_len (0 or less: the task's
     * own length, maxLength - 1). Bad names and parameters are DataExceptions naming the field.
     */
    public static TaskDataset create(String name, Map<String, ?> params, int seqLen) {
        Set<String> common = Set.of("seed", "test_size");
        ReasoningTask task;
        TaskParams p;
        switch (name == null ? "" : name) {
            case HopsTask.NAME -> {
                p = new TaskParams(name, params, union(common, "n", "k_min", "k_max", "function"));
                int n = p.getInt("n", 8, 2, 500);
                int kMax = p.getInt("k_max", 4, 1, 64);
                int kMin = p.getInt("k_min", 1, 1, kMax);
                boolean perm = p.getString("function", "random", Set.of("random", "permutation")).equals("permutation");
                task = new HopsTask(n, kMin, kMax, perm);
            }
            case ComposeTask.NAME -> {
                p = new TaskParams(name, params, union(common, "p", "steps_min", "steps_max", "ops"));
                int mod = p.getInt("p", 11, 2, 1000);
                int sMax = p.getInt("steps_max", 3, 1, 16);
                int sMin = p.getInt("steps_min", Math.min(2, sMax), 1, sMax);
                String ops = p.getString("ops", "+-*", null);
                if (ops.isEmpty() || !ops.chars().allMatch(c -> ComposeTask.OPS.indexOf(c) >= 0) || ops.chars().distinct().count() != ops.length()) {
                    throw new DataException("data.task_params.ops = " + ops + ": must be distinct characters from \"+-*\"");
                }
                task = new ComposeTask(mod, sMin, sMax, ops);
            }
            case LisTask.NAME -> {
                p = new TaskParams(name, params, union(common, "length", "min_length", "max_value"));
                int len = p.getInt("length", 8, 1, 128);
                int minLen = p.getInt("min_length", len, 1, len);
                int maxValue = p.getInt("max_value", 10, 1, 1000);
                task = new LisTask(len, minLen, maxValue);
            }
            default -> throw new DataException("data.task = " + name + ": must be one of " + TASKS);
        }
        int need = task.maxLength() - 1;
        int s = seqLen <= 0 ? need : seqLen;
        if (s < need) throw new DataException("model.seq_len = " + seqLen + ": task " + task.name() + " with these data.task_params needs seq_len >= " + need);
        return new TaskDataset(task, s, p.getLong("seed", 0), p.getInt("test_size", 1000, 1, 1_000_000));
    }

    private static Set<String> union(Set<String> a, String... b) {
        Set<String> s = new HashSet<>(a);
        s.addAll(List.of(b));
        return s;
    }

    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    public ReasoningTask task() {
        return task;
    }

    /** The vocabulary the model needs (model.vocab_size). */
    public int vocabSize() {
        return task.vocabSize();
    }

    /** S: the model's sequence length these batches use. */
    public int seqLen() {
        return seqLen;
    }

    public List<Example> testSet() {
        return test;
    }

    public boolean inTestSet(Example e) {
        return testKeys.contains(new Key(e.tokens()));
    }

    /** The resumable train stream (see the class comment). */
    public TrainStream trainStream(long trainSeed) {
        return new TrainStream(trainSeed);
    }

    /** The test set as batches of batchSize rows (the last one padded with empty rows, level -1). */
    public List<TaskBatch> testBatches(int batchSize, boolean lossOnAll) {
        List<TaskBatch> out = new ArrayList<>();
        for (int i = 0; i < test.size(); i += batchSize) out.add(toBatch(test.subList(i, Math.min(test.size(), i + batchSize)), batchSize, lossOnAll));
        return out;
    }

    /** Rows of examples padded to seqLen + 1 tokens; rows past examples.size() are empty (targets -1). */
    public TaskBatch toBatch(List<Example> examples, int batchSize, boolean lossOnAll) {
        int s = seqLen;
        int[] in = new int[batchSize * s], tg = new int[batchSize * s], ans = new int[batchSize * s];
        int[] levels = new int[batchSize];
        Arrays.fill(tg, -1);
        Arrays.fill(ans, -1);
        Arrays.fill(levels, -1);
        for (int b = 0; b < examples.size(); b++) {
            Example e = examples.get(b);
            int[] t = e.tokens();
            levels[b] = e.level();
            for (int i = 0; i < s; i++) in[b * s + i] = i < t.length ? t[i] : ReasoningTask.PAD;
            for (int i = 0; i + 1 < t.length; i++) { // position i predicts token i + 1
                if (i + 1 >= e.answerStart()) ans[b * s + i] = t[i + 1];
                if (lossOnAll || i + 1 >= e.answerStart()) tg[b * s + i] = t[i + 1];
            }
        }
        return new TaskBatch(new Batch(in, tg, batchSize, s), ans, levels);
    }

    /** Training examples in a fixed order for a seed; resumable through {@link #cursor()}. */
    public final class TrainStream {
        private final long base;
        private long cursor;

        TrainStream(long trainSeed) {
            this.base = mix64(trainSeed ^ TRAIN_SALT);
        }

        /** The next example not in the test set. */
        public Example next() {
            for (int skips = 0; ; skips++) {
                if (skips > MAX_SKIPS) throw new DataException("task " + task.name() + ": almost every example is in the test set; lower data.task_params.test_size or make the task larger");
                Example e = task.sample(new SplittableRandom(mix64(base + (cursor++) * 0x9E3779B97F4A7C15L)));
                if (!testKeys.contains(new Key(e.tokens()))) return e;
            }
        }

        public TaskBatch nextBatch(int batchSize, boolean lossOnAll) {
            List<Example> ex = new ArrayList<>(batchSize);
            for (int b = 0; b < batchSize; b++) ex.add(next());
            return toBatch(ex, batchSize, lossOnAll);
        }

        /** Fills inputs[B*S] and targets[B*S] (B = inputs.length / seqLen) with the next batch, as a trainer's batch source. */
        public void next(int[] inputs, int[] targets, boolean lossOnAll) {
            TaskBatch b = nextBatch(inputs.length / seqLen, lossOnAll);
            System.arraycopy(b.batch().inputs(), 0, inputs, 0, inputs.length);
            System.arraycopy(b.batch().targets(), 0, targets, 0, targets.length);
        }

        /** Examples drawn so far (skipped ones included): the state to save in a checkpoint. */
        public long cursor() {
            return cursor;
        }

        public void seek(long cursor) {
            if (cursor < 0) throw new IllegalArgumentException("task cursor " + cursor + " < 0");
            this.cursor = cursor;
        }
    }
}
