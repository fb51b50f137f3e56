package dagmoe.config.field;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.List;

/**
 * One config key as derived from its {@link Field} declaration: where it lives, its type, default and
 * range. Values are held in their config form: Integer, Long, Double, Boolean, String (also for enums),
 * JsonNode (objects), List of String (a LIST: distinct values from {@code choices}). The parsers throw {@link IllegalArgumentException} whose message is the broken rule
 * ("must be an integer", "must be >= 1"); callers prefix the file and key.
 *
 * @param path      the dotted key from the top of the config ("model.dag.rounds")
 * @param key       the key inside its section ("dag.rounds")
 * @param component the record component it fills ("dagRounds")
 * @param javaType  the component's type (int, double, an enum, String, JsonNode, ...)
 * @param min       inclusive (or, with {@code minExclusive}, exclusive) lower bound of a number; NaN = none
 * @param max       inclusive upper bound of a number; NaN = none
 * @param choices   the values of an ENUM
 */
public record Key(String path, String key, String component, Class<?> javaType, Type type, Object defaultValue,
                  double min, boolean minExclusive, double max, List<String> choices, boolean nullable, String doc) {

    /** LIST: distinct strings from {@code choices} (a JSON array; "a,b" or ["a","b"] on the command line). */
    public enum Type { INT, LONG, DOUBLE, BOOL, STRING, ENUM, OBJECT, LIST }

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The default (a fresh copy for objects). */
    @Override
    public Object defaultValue() {
        return defaultValue instanceof JsonNode j ? j.deepCopy() : defaultValue;
    }

    /** Checks a config value against the type's range; returns null when fine, else the rule it breaks. */
    public String violation(Object v) {
        if (v == null) return nullable ? null : "must not be null";
        switch (type) {
            case INT, LONG, DOUBLE -> {
                double x = ((Number) v).doubleValue();
                if (Double.isNaN(x) || Double.isInfinite(x)) return "must be a finite number";
                if (!Double.isNaN(min) && (minExclusive ? x <= min : x < min))
                    return "must be " + (minExclusive ? "> " : ">= ") + fmt(min);
                if (!Double.isNaN(max) && x > max) return "must be <= " + fmt(max);
            }
            case ENUM -> {
                if (!choices.contains(v)) return "must be one of " + String.join(", ", choices);
            }
            case LIST -> {
                List<?> l = (List<?>) v;
                for (Object x : l) if (!choices.contains(x)) return x + " is not one of " + String.join(", ", choices);
                if (new java.util.HashSet<>(l).size() != l.size()) return "lists an entry twice";
            }
            default -> { }
        }
        return null;
    }

    /** The range as {@code --list-keys} prints it: ">= 1, <= 64", "a | b". */
    public String rangeText() {
        if (type == Type.ENUM) return String.join(" | ", choices);
        if (type == Type.LIST) return "any of " + String.join(", ", choices);
        StringBuilder sb = new StringBuilder();
        if (!Double.isNaN(min)) sb.append(minExclusive ? "> " : ">= ").append(fmt(min));
        if (!Double.isNaN(max)) sb.append(sb.length() > 0 ? ", " : "").append("<= ").append(fmt(max));
        return sb.toString();
    }

    static String fmt(double x) {
        return x == Math.rint(x) && Math.abs(x) < 1e16 ? Long.toString((long) x) : Double.toString(x);
    }

    /** A JSON value (config file, saved config.json, a compare variant's set) → the config value, range-checked. */
    public Object fromJson(JsonNode v) {
        Object out;
        if (v.isNull()) {
            out = null;
        } else {
            out = switch (type) {
                case INT -> {
                    if (!v.isIntegralNumber() || !v.canConvertToInt()) throw new IllegalArgumentException("must be an integer");
                    yield v.intValue();
                }
                case LONG -> {
                    if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException("must be an integer");
                    yield v.longValue();
                }
                case DOUBLE -> {
                    if (!v.isNumber()) throw new IllegalArgumentException("must be a number");
                    yield v.doubleValue();
                }
                case BOOL -> {
                    if (!v.isBoolean()) throw new IllegalArgumentException("must be true or false");
                    yield v.booleanValue();
                }
                case STRING, ENUM -> {
                    if (!v.isTextual()) throw new IllegalArgumentException(type == Type.ENUM
                            ? "must be one of " + String.join(", ", choices) : "must be a string");
                    yield v.textValue();
                }
                case OBJECT -> {
                    if (!v.isObject()) throw new IllegalArgumentException("must be an object");
                    yield v.deepCopy();
                }
                case LIST -> {
                    String rule = "must be a list of strings (any of " + String.join(", ", choices) + ")";
                    if (!v.isArray()) throw new IllegalArgumentException(rule);
                    List<String> l = new java.util.ArrayList<>();
                    for (JsonNode x : v) {
                        if (!x.isTextual()) throw new IllegalArgumentException(rule);
                        l.add(x.textValue());
                    }
                    yield List.copyOf(l);
                }
            };
        }
        return checked(out);
    }

    /** A command-line string ({@code --set k=s}, a declared default) → the config value, range-checked. */
    public Object parse(String s) {
        Object out;
        try {
            if (s.equals("null") && nullable) {
                out = null;
            } else {
                out = switch (type) {
                    case INT -> Integer.parseInt(s.trim());
                    case LONG -> Long.parseLong(s.trim());
                    case DOUBLE -> Double.parseDouble(s.trim());
                    case BOOL -> {
                        if (!s.equals("true") && !s.equals("false")) throw new NumberFormatException();
                        yield Boolean.parseBoolean(s);
                    }
                    case STRING, ENUM -> s;
                    case OBJECT -> {
                        JsonNode n = JSON.readTree(s);
                        if (n == null || !n.isObject()) throw new NumberFormatException();
                        yield n;
                    }
                    case LIST -> s.trim().startsWith("[") ? fromJson(JSON.readTree(s))
                            : s.isBlank() ? List.of() : List.of(s.trim().split("\\s*,\\s*"));
                };
            }
        } catch (NumberFormatException | JsonProcessingException e) {
            throw new IllegalArgumentException("must be " + switch (type) {
                case INT, LONG -> "an integer";
                case DOUBLE -> "a number";
                case BOOL -> "true or false";
                case OBJECT -> "a JSON object";
                case LIST -> "a list such as a,b or [\"a\", \"b\"]";
                default -> "a string";
            });
        }
        return checked(out);
    }

    /**
     * A Java value (from code: a compare override, a builder) → the config value: numbers widened or narrowed
     * to the key's type, enum constants to their names; range-checked.
     */
    public Object normalize(Object v) {
        Object out = v;
        if (v instanceof Number n) {
            out = switch (type) {
                case INT -> n.intValue();
                case LONG -> n.longValue();
                case DOUBLE -> n.doubleValue();
                default -> v;
            };
        } else if (v instanceof Enum<?> e) {
            out = e.toString();
        } else if (v instanceof List<?> l && type == Type.LIST) {
            out = List.copyOf(l);
        }
        boolean fits = out == null || switch (type) {
            case INT -> out instanceof Integer;
            case LONG -> out instanceof Long;
            case DOUBLE -> out instanceof Double;
            case BOOL -> out instanceof Boolean;
            case STRING, ENUM -> out instanceof String;
            case OBJECT -> out instanceof JsonNode;
            case LIST -> out instanceof List<?> l && l.stream().allMatch(String.class::isInstance);
        };
        if (!fits) throw new IllegalArgumentException("must be " + type.name().toLowerCase() + ", not " + out.getClass().getSimpleName());
        return checked(out);
    }

    private Object checked(Object out) {
        String rule = violation(out);
        if (rule != null) throw new IllegalArgumentException(rule);
        return out;
    }

    /** The config value → the record component's value (a String becomes its enum constant). */
    Object toComponent(Object v) {
        if (v instanceof String s && javaType.isEnum()) {
            for (Object c : javaType.getEnumConstants()) if (c.toString().equals(s)) return c;
        }
        return v;
    }
}
