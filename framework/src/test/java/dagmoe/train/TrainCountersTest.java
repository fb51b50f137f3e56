package dagmoe.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The progress counters: what a step adds, what a checkpoint keeps, what the summary reports. */
class TrainCountersTest {

    @Test
    void stepsAreCountedSavedRestoredAndSummarised() {
        TrainCounters c = new TrainCounters();
        double[] seconds = {1, 2, 3, 5};
        for (int i = 0; i < 4; i++) c.add(i + 1, 4, seconds[i], 8, 6, 10 - i);
        assertEquals(11, c.trainSeconds);
        assertEquals(32, c.tokens);
        assertEquals(24, c.targets);
        assertEquals(2, c.lateSteps, "steps 3 and 4 are the second half");
        assertEquals(8, c.lateSeconds);
        assertEquals(8.5, c.finalTrainLoss());
        assertEquals(32 / 11.0, c.tokensPerSecond());

        ObjectNode s = new ObjectMapper().createObjectNode();
        c.summarise(s, 4, 8);
        assertEquals(2750, s.get("mean_step_ms").asDouble());
        assertEquals(4000, s.get("steady_step_ms").asDouble());
        assertEquals(2, s.get("steady_tokens_per_second").asDouble());
        assertEquals(4000, s.get("median_step_ms").asDouble());
        assertEquals(2, s.get("median_tokens_per_second").asDouble());

        ObjectNode saved = c.toJson(42.5);
        TrainCounters back = TrainCounters.fromJson(saved);
        assertEquals(42.5, back.wallSecondsBefore);
        assertEquals(saved, back.toJson(42.5));
        assertEquals(List.of(3000.0, 5000.0), List.copyOf(back.lateStepMs));
    }

    @Test
    void readsTheProgressOfEarlierCheckpoints() throws Exception {
        // state.json "progress" as dagmoe-checkpoint-1 has always written it
        JsonNode old = new ObjectMapper().readTree("""
                {"wall_seconds": 12.5, "train_seconds": 10.0, "tokens": 2048, "targets": 2000, "late_seconds": 4.0,
                 "late_tokens": 1024, "late_steps": 4, "late_step_ms": [900.0, 1100.0], "recent_losses": [2.0, 3.0]}""");
        TrainCounters c = TrainCounters.fromJson(old);
        assertEquals(12.5, c.wallSecondsBefore);
        assertEquals(10.0, c.trainSeconds);
        assertEquals(2048, c.tokens);
        assertEquals(2000, c.targets);
        assertEquals(1024, c.lateTokens);
        assertEquals(4, c.lateSteps);
        assertEquals(2.5, c.finalTrainLoss());
        assertEquals(old.toString(), c.toJson(12.5).toString(), "saved again field for field");
        assertEquals(0, TrainCounters.fromJson(new ObjectMapper().createObjectNode()).tokens, "absent: zero");
    }
}
