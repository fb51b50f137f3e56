package dagmoe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dagmoe.config.RunConfig;
import dagmoe.data.Batch;
import dagmoe.data.tasks.Accuracy;
import dagmoe.data.tasks.TaskBatch;
import dagmoe.data.tasks.TaskDataset;
import dagmoe.model.Model;
import dagmoe.train.BatchSource;
import dagmoe.train.Trainer;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A synthetic reasoning task (data.task) as run data: the seeded train stream, the held-out test set as
 * validation batches, and exact-match accuracy on it ({@code test_accuracy}, and by level:
 * {@code test_accuracy_level_<k>}) as the evaluator.
 */
final class TaskData {
    private TaskData() {}

    @SuppressWarnings("unchecked")
    static RunData load(RunConfig c) {
        Map<String, Object> params = new ObjectMapper().convertValue(c.data().taskParams(), Map.class);
        TaskDataset d = TaskDataset.create(c.data().task(), params, (Integer) c.values().get("model.seq_len"));
        boolean lossOnAll = c.train().lossOn().equals("all");
        TaskDataset.TrainStream stream = d.trainStream(c.train().seed());
        BatchSource train = new BatchSource() {
            @Override public void next(int[] inputs, int[] targets) { stream.next(inputs, targets, lossOnAll); }
            @Override public long cursor() { return stream.cursor(); }
            @Override public void seek(long cursor) { stream.seek(cursor); }
        };
        List<TaskBatch> test = d.testBatches(c.train().batchSize(), lossOnAll); // [B × d.seqLen()] each
        List<Batch> val = test.stream().map(TaskBatch::batch).toList();
        Trainer.Evaluator accuracy = model -> accuracy(model, test);
        return new RunData(null, d.vocabSize(), d.seqLen(), train, val, accuracy, "task:" + c.data().task());
    }

    static Map<String, Double> accuracy(Model model, List<TaskBatch> test) {
        Accuracy acc = new Accuracy();
        int V = model.config().vocabSize();
        for (TaskBatch tb : test) {
            Batch b = tb.batch();
            model.forward(b.inputs(), null, b.batchSize(), b.seqLen());
            float[] logits = model.logits();
            int T = b.batchSize() * b.seqLen();
            int[] argmax = new int[T];
            for (int t = 0; t < T; t++) {
                int best = 0;
                for (int v = 1; v < V; v++) if (logits[t * V + v] > logits[t * V + best]) best = v;
                argmax[t] = best;
            }
            acc.add(tb, argmax);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("test_accuracy", acc.accuracy());
        acc.byLevel().forEach((level, a) -> out.put("test_accuracy_level_" + level, a));
        return out;
    }
}
