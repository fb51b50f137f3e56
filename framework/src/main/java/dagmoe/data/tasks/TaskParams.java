package dagmoe.data.tasks;

import dagmoe.data.DataException;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * data.task_params, read with range checks. Values may be JSON numbers or strings (from --set);
 * an unknown key or a bad value is a DataException naming data.task_params.&lt;key&gt;.
 */
public final class TaskParams {
    private final String task;
    private final Map<String, ?> map;

    TaskParams(String task, Map<String, ?> map, Set<String> known) {
        this.task = task;
        this.map = map == null ? Map.of() : map;
        for (String k : this.map.keySet()) {
            if (!known.contains(k)) {
                throw new DataException("data.task_params." + k + ": unknown parameter for task " + task + " (known: " + new TreeSet<>(known) + ")");
            }
        }
    }

    public int getInt(String key, int def, int min, int max) {
        Object v = map.get(key);
        if (v == null) return def;
        long x;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) {
            x = n.longValue();
        } else {
            try {
                x = Long.parseLong(v.toString().trim());
            } catch (NumberFormatException e) {
                throw new DataException("data.task_params." + key + " = " + v + ": must be an integer");
            }
        }
        if (x < min || x > max) throw new DataException("data.task_params." + key + " = " + x + ": must be in [" + min + ", " + max + "] for task " + task);
        return (int) x;
    }

    public long getLong(String key, long def) {
        Object v = map.get(key);
        if (v == null) return def;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) return n.longValue();
        try {
            return Long.parseLong(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new DataException("data.task_params." + key + " = " + v + ": must be an integer");
        }
    }

    public String getString(String key, String def, Set<String> allowed) {
        Object v = map.get(key);
        if (v == null) return def;
        String s = v.toString();
        if (allowed != null && !allowed.contains(s)) throw new DataException("data.task_params." + key + " = " + s + ": must be one of " + new TreeSet<>(allowed));
        return s;
    }
}
