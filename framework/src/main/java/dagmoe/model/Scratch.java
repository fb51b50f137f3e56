package dagmoe.model;

import java.util.HashMap;
import java.util.Map;

/**
 * Backward work buffers shared by all blocks of one model: a block uses them only during its own
 * backward, so one set (per key, grown to the largest request) serves every layer. Keys name the
 * layer type and the buffer ("experts.dHg"); two buffers that are alive at the same time have
 * different keys.
 */
final class Scratch {
    private final Map<String, float[]> buffers = new HashMap<>();

    /** A buffer of at least n floats; its contents are whatever the last user left. */
    float[] get(String key, int n) {
        float[] b = buffers.get(key);
        if (b == null || b.length < n) {
            b = new float[n];
            buffers.put(key, b);
        }
        return b;
    }
}
