package org.peft4j.adapters.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An option enum whose values are written in configs by a key: the constant's name in lower case with dashes, e.g.
 * {@code SVD_RESIDUAL} is {@code svd-residual}.
 */
public interface KeyedOption {

    default String key() {
        return ((Enum<?>) this).name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The constant of {@code type} whose key is {@code s}, or an error naming the option, the keys and {@code s}. */
    static <E extends Enum<E> & KeyedOption> E parse(Class<E> type, String option, String s) {
        List<String> keys = new ArrayList<>();
        for (E v : type.getEnumConstants()) {
            if (v.key().equals(s)) {
                return v;
            }
            keys.add(v.key());
        }
        throw new IllegalArgumentException(
                option + ": expected one of " + String.join(", ", keys) + ", found '" + s + "'");
    }
}
