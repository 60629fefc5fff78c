package org.peft4j.adapters.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * One option of an adapter method: its key, default and one-line doc, written once, and how a value is read from the
 * text a config file or command line gives. Each method declares its options as constants of this type; parsing,
 * {@code params --help}, reference.conf and the README's option table are all derived from those constants.
 *
 * @param values the accepted values, as a reader would write them
 * @param defaultText the default as documentation shows it (e.g. {@code max(1, r/2)})
 * @param <T> the parsed type
 */
public record MethodOption<T>(
        String key,
        String values,
        String defaultText,
        String doc,
        IntFunction<T> defaultForRank,
        Function<String, T> parser,
        Function<T, Object> toJson) {

    /** {@code true} or {@code false}. */
    public static MethodOption<Boolean> bool(String key, boolean dflt, String doc) {
        return new MethodOption<>(
                key,
                "true, false",
                Boolean.toString(dflt),
                doc,
                r -> dflt,
                v -> {
                    if (!v.equals("true") && !v.equals("false")) {
                        throw new IllegalArgumentException(key + ": expected true or false, found '" + v + "'");
                    }
                    return Boolean.parseBoolean(v);
                },
                b -> b);
    }

    /** An integer whose default may depend on the rank r (e.g. LaMDA++'s {@code r_min = max(1, r/2)}). */
    public static MethodOption<Integer> integer(
            String key, String values, IntFunction<Integer> dfltForRank, String defaultText, String doc) {
        return new MethodOption<>(
                key, values, defaultText, doc, dfltForRank, numeric(key, "an integer", Integer::parseInt), i -> i);
    }

    public static MethodOption<Double> number(String key, String values, double dflt, String doc) {
        return new MethodOption<>(
                key,
                values,
                Double.toString(dflt),
                doc,
                r -> dflt,
                numeric(key, "a number", Double::parseDouble),
                d -> d);
    }

    /** A parser whose NumberFormatException becomes an error naming the key, the expected and the found value. */
    private static <T> Function<String, T> numeric(String key, String expected, Function<String, T> parse) {
        return v -> {
            try {
                return parse.apply(v.trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(key + ": expected " + expected + ", found '" + v + "'");
            }
        };
    }

    /** One constant of an enum, written by its key (e.g. {@code svd-residual}). */
    public static <E extends Enum<E> & KeyedOption> MethodOption<E> choice(
            String key, Class<E> type, E dflt, String doc) {
        List<String> keys = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            keys.add(e.key());
        }
        return new MethodOption<>(
                key,
                String.join(", ", keys),
                dflt.key(),
                doc,
                r -> dflt,
                v -> KeyedOption.parse(type, key, v),
                KeyedOption::key);
    }

    /** The value given in {@code raw} under this option's key, or the default for rank {@code rank}. */
    public T read(Map<String, String> raw, int rank) {
        String v = raw.get(key);
        return v == null ? defaultForRank.apply(rank) : parser.apply(v);
    }

    /** The value as {@code adapter_config.json} writes it. */
    public Object json(T value) {
        return toJson.apply(value);
    }
}
