/**
 * Synthetic multi-step reasoning tasks (data.task = hops | compose | lis, parameters in
 * data.task_params): seeded generators, a fixed held-out test set, a resumable train stream disjoint
 * from it, and exact-match accuracy.
 *
 * <pre>
 *   TaskDataset d = TaskDataset.create(task, taskParams, model.seq_len);   // model.vocab_size = d.vocabSize()
 *   TaskDataset.TrainStream s = d.trainStream(train.seed);                 // state: s.cursor() / s.seek(c)
 *   s.next(inputs, targets, lossOnAll);                                    // or s.nextBatch(B, lossOnAll)
 *   Accuracy acc = new Accuracy();
 *   for (TaskBatch b : d.testBatches(B, lossOnAll)) acc.add(b, argmaxOfLogits(b.batch()));
 *   acc.accuracy(); acc.byLevel();                                         // test_accuracy, accuracy by k
 * </pre>
 * Token ids: 0 pad, 1 ",", 2 "→", 3 "?", 4 "=", then each task's own symbols (see {@link
 * dagmoe.data.tasks.HopsTask}, {@link dagmoe.data.tasks.ComposeTask}, {@link dagmoe.data.tasks.LisTask}).
 */
package dagmoe.data.tasks;
