package dagmoe.train;

import dagmoe.model.Model;
import dagmoe.model.Parameter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Initialises a model from another run's checkpoint (fine-tuning, upcycling). Every tensor of the checkpoint
 * initialises the model's tensor of the same name, whose shape must be the same; a model tensor the checkpoint
 * lacks is allowed only in the aggregator group (upcycling a {@code sum} model to {@code dag}, {@code shared} or
 * {@code mlp-mix}), and keeps the initial value it got from the model's seed, exactly as in pre-training (dag's and
 * mix's zero up-projections: the upcycled model computes the source's function). Any other difference of names
 * or shapes is a {@link CheckpointException} naming the tensor. Only weights are read: the optimizer state and
 * schedule start fresh.
 */
public final class WarmStart {
    private WarmStart() {}

    /** What the checkpoint initialised, and which aggregator tensors kept their own initialisation. */
    public record Report(List<String> loaded, List<String> initialised) {}

    /** Checks every name and shape first, then copies; nothing is changed when a tensor does not match. */
    public static Report load(Checkpoints.Loaded c, Model model) {
        Path file = c.folder().resolve(Checkpoints.MODEL_FILE);
        Map<String, Safetensors.Tensor> ts = c.model();
        List<String> loaded = new ArrayList<>(), initialised = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Parameter p : model.parameters()) {
            names.add(p.name());
            Safetensors.Tensor t = ts.get(p.name());
            if (t == null) {
                if (!model.component(p.name()).equals("aggregator")) {
                    throw new CheckpointException(file + ": no tensor " + p.name() + " " + Arrays.toString(p.shape())
                            + " (the config's model needs it; only aggregator tensors may be new)");
                }
                initialised.add(p.name());
            } else if (!Arrays.equals(t.shape(), p.shape())) {
                throw new CheckpointException(file + ": tensor " + p.name() + " has shape " + Arrays.toString(t.shape())
                        + " but the config's model needs " + Arrays.toString(p.shape()));
            } else {
                loaded.add(p.name());
            }
        }
        for (String name : ts.keySet()) {
            if (!names.contains(name)) {
                throw new CheckpointException(file + ": tensor " + name + " " + Arrays.toString(ts.get(name).shape())
                        + " has no counterpart in the config's model (another architecture or aggregator?)");
            }
        }
        for (String name : loaded) {
            Parameter p = model.parameter(name);
            System.arraycopy(ts.get(name).data(), 0, p.data(), 0, p.size());
            model.backend().hostWrote(p.data());
        }
        return new Report(List.copyOf(loaded), List.copyOf(initialised));
    }
}
