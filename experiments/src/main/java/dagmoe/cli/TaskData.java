package dagmoe.cli;

import dagmoe.config.RunConfig;
import dagmoe.data.DataException;

/** Synthetic reasoning tasks (data.task) as run data: waiting for the task generators of dagmoe.data.tasks. */
final class TaskData {
    private TaskData() {}

    static RunData load(RunConfig c) {
        throw new DataException("data.task = " + c.data().task() + ": reasoning tasks are not available in this build yet");
    }
}
