package dagmoe.config.field;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Config sections declared once, as records (nanoGPT's config dataclass, in Java). Each record component is
 * one key; its {@link Field} annotation holds the JSON key, default, range and help, the component gives the
 * name and type, and the record's {@link Section} the section:
 *
 * <pre>{@code
 * @Section("model")
 * public record ModelConfig(
 *         @Field(key = "dag.rounds", def = "2", min = 0, max = 64, help = "DAG rounds L") int dagRounds,
 *         ...
 * }</pre>
 *
 * Adding a key is adding such a component (and reading it where it is used): the config schema and
 * {@code --list-keys}, the JSON reader and writer, {@code --set}, the defaults and the range checks all come
 * from here. Single-key ranges are checked before the record is constructed; the record's compact constructor
 * checks only the rules between keys. Build records with {@link #build}, {@link #defaults} or a {@link Builder},
 * never field by field.
 */
public final class Fields {

    private record Decl(String section, List<Key> keys, Constructor<?> canonical) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private static final ClassValue<Decl> DECLS = new ClassValue<>() {
        @Override
        protected Decl computeValue(Class<?> type) {
            return declare(type);
        }
    };

    private Fields() {}

    /** The keys a section record declares, in declaration order. */
    public static List<Key> of(Class<? extends Record> section) {
        return DECLS.get(section).keys();
    }

    /** The section of a record ("model"; "" for the top level). */
    public static String section(Class<? extends Record> section) {
        return DECLS.get(section).section();
    }

    /** The section record with every key at its default. */
    public static <R extends Record> R defaults(Class<R> section) {
        return build(section, Map.of());
    }

    /**
     * The section record from config values by full path ("model.dag.rounds"); absent keys take their
     * default. A value out of its range throws {@link IllegalArgumentException} "path = value: rule", as does
     * the record's own check of the rules between keys.
     */
    public static <R extends Record> R build(Class<R> section, Map<String, ?> values) {
        Decl d = DECLS.get(section);
        if (d.canonical() == null) throw new IllegalStateException(section.getName() + ": not every component has @Field");
        Object[] args = new Object[d.keys().size()];
        for (int i = 0; i < args.length; i++) {
            Key k = d.keys().get(i);
            Object v = values.containsKey(k.path()) ? values.get(k.path()) : k.defaultValue();
            String rule = k.violation(v);
            if (rule != null) throw new IllegalArgumentException(k.path() + " = " + v + ": " + rule);
            args[i] = k.toComponent(v);
        }
        try {
            return section.cast(d.canonical().newInstance(args));
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException | IllegalArgumentException e) {
            throw new IllegalStateException(section.getName() + ": cannot construct from " + Arrays.toString(args), e);
        }
    }

    /** Every key of a section record → its config value (enum constants by name), by full path. */
    public static Map<String, Object> values(Record r) {
        Map<String, Object> out = new LinkedHashMap<>();
        RecordComponent[] comps = r.getClass().getRecordComponents();
        Decl d = DECLS.get(r.getClass());
        int j = 0;
        for (RecordComponent c : comps) {
            if (c.getAnnotation(Field.class) == null) continue;
            Key k = d.keys().get(j++);
            try {
                Object v = c.getAccessor().invoke(r);
                out.put(k.path(), v instanceof Enum<?> e ? e.toString() : v);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return out;
    }

    /** Values by dotted key → nested JSON objects: {"dag.rounds": 2, "dag.width": 8} → {"dag": {"rounds": 2, "width": 8}}. */
    public static ObjectNode nest(Map<String, ?> byKey) {
        ObjectNode root = JSON.createObjectNode();
        for (var e : byKey.entrySet()) {
            String[] parts = e.getKey().split("\\.");
            ObjectNode at = root;
            for (int i = 0; i < parts.length - 1; i++) {
                at = at.has(parts[i]) ? (ObjectNode) at.get(parts[i]) : at.putObject(parts[i]);
            }
            at.set(parts[parts.length - 1], JSON.valueToTree(e.getValue()));
        }
        return root;
    }

    /** A section record as its section's JSON (keys inside the section, nested; enums by name). */
    public static ObjectNode toJson(Record r) {
        String prefix = DECLS.get(r.getClass()).section().isEmpty() ? "" : DECLS.get(r.getClass()).section() + ".";
        Map<String, Object> inside = new LinkedHashMap<>();
        values(r).forEach((path, v) -> inside.put(path.substring(prefix.length()), v));
        return nest(inside);
    }

    /** A builder starting from the declared defaults. */
    public static <R extends Record> Builder<R> builder(Class<R> section) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (Key k : of(section)) values.put(k.path(), k.defaultValue());
        return new Builder<>(section, values);
    }

    /** A builder starting from {@code from}'s values. */
    public static <R extends Record> Builder<R> builder(R from) {
        @SuppressWarnings("unchecked") Class<R> type = (Class<R>) from.getClass();
        return new Builder<>(type, values(from));
    }

    /** Changes keys of a section record by their JSON key inside the section; {@link #build} validates. */
    public static final class Builder<R extends Record> {
        private final Class<R> type;
        private final Map<String, Object> values;

        private Builder(Class<R> type, Map<String, Object> values) {
            this.type = type;
            this.values = values;
        }

        /** Sets {@code key} ("dag.rounds" in section model) to a value of its type (numbers converted, enums or their names). */
        public Builder<R> set(String key, Object value) {
            Key k = null;
            for (Key c : of(type)) if (c.key().equals(key)) k = c;
            if (k == null) throw new IllegalArgumentException("no key " + key + " in section " + section(type));
            try {
                values.put(k.path(), k.normalize(value));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(k.path() + " = " + value + ": " + e.getMessage());
            }
            return this;
        }

        public R build() {
            return Fields.build(type, values);
        }
    }

    // ---------------------------------------------------------------- reading the declarations

    private static Decl declare(Class<?> type) {
        Section s = type.getAnnotation(Section.class);
        if (!type.isRecord() || s == null) throw new IllegalStateException(type.getName() + ": not a @Section record");
        String prefix = s.value().isEmpty() ? "" : s.value() + ".";
        List<Key> keys = new ArrayList<>();
        RecordComponent[] comps = type.getRecordComponents();
        boolean all = true;
        for (RecordComponent c : comps) {
            Field f = c.getAnnotation(Field.class);
            if (f == null) {
                all = false;
                continue;
            }
            keys.add(key(prefix + f.key(), f, c));
        }
        Constructor<?> canonical = null;
        if (all) {
            try {
                canonical = type.getDeclaredConstructor(Arrays.stream(comps).map(RecordComponent::getType).toArray(Class[]::new));
                canonical.setAccessible(true);
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(e);
            }
        }
        return new Decl(s.value(), Collections.unmodifiableList(keys), canonical);
    }

    private static Key key(String path, Field f, RecordComponent c) {
        Class<?> t = c.getType();
        List<String> choices = List.of(f.choices());
        Key.Type type;
        if (t == int.class || t == Integer.class) type = Key.Type.INT;
        else if (t == long.class || t == Long.class) type = Key.Type.LONG;
        else if (t == double.class || t == Double.class) type = Key.Type.DOUBLE;
        else if (t == boolean.class || t == Boolean.class) type = Key.Type.BOOL;
        else if (t == String.class) type = choices.isEmpty() ? Key.Type.STRING : Key.Type.ENUM;
        else if (t.isEnum()) {
            type = Key.Type.ENUM;
            choices = Arrays.stream(t.getEnumConstants()).map(Object::toString).toList();
        } else if (JsonNode.class.isAssignableFrom(t)) type = Key.Type.OBJECT;
        else if (t == List.class && !choices.isEmpty()) type = Key.Type.LIST;
        else throw new IllegalStateException(path + ": unsupported config type " + t.getName());
        if (!Double.isNaN(f.min()) && !Double.isNaN(f.gt())) throw new IllegalStateException(path + ": both min and gt");
        boolean exclusive = !Double.isNaN(f.gt());
        Key noDefault = new Key(path, f.key(), c.getName(), t, type, null, exclusive ? f.gt() : f.min(), exclusive,
                f.max(), choices, f.nullable(), f.help());
        Object def;
        try {
            def = noDefault.parse(f.def());
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(path + ": default " + f.def() + ": " + e.getMessage());
        }
        return new Key(path, f.key(), c.getName(), t, type, def, noDefault.min(), exclusive, f.max(), choices,
                f.nullable(), f.help());
    }
}
