package dagmoe.config.field;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares one config key on a component of a {@link Section} record: the component's name and Java type
 * are the field's name and type, this annotation holds the rest (see {@link Fields} for an example).
 * Everything else (the schema, {@code --list-keys}, validation, JSON reading and writing, {@code --set}
 * overrides, the defaults) is derived from it.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Field {
    /** The JSON key inside the section, dotted for nested objects ("dag.rounds" in section "model"). */
    String key();

    /** The default, written as on the command line after {@code --set k=}: "2", "1e-5", "injected", "null", "{}". */
    String def();

    /** Inclusive lower bound of a number (NaN: none). */
    double min() default Double.NaN;

    /** Exclusive lower bound of a number ("must be > gt"; NaN: none). */
    double gt() default Double.NaN;

    /** Inclusive upper bound of a number (NaN: none). */
    double max() default Double.NaN;

    /** The allowed values of a String field (a Java enum component lists its constants' toString() itself). */
    String[] choices() default {};

    /** Whether JSON null (--set k=null) is a valid value. */
    boolean nullable() default false;

    /** One line for {@code --list-keys}: what it means, its symbol in the method doc, what 0 or null means. */
    String help();
}
