package org.peft4j.adapters.core;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * A method's options: the record they parse into, each option (key, default, doc) in documentation order, and the
 * parser from text values (absent keys take their defaults; values are validated).
 */
public record OptionSet<T extends MethodOptions>(
        Class<T> type, List<MethodOption<?>> list, BiFunction<Map<String, String>, Integer, T> parser) {

    public T parse(Map<String, String> raw, int rank) {
        return parser.apply(raw, rank);
    }

    /**
     * Option values as {@code adapter_config.json} writes them, by key in documentation order: {@code values} are the
     * record's values, one per option, in the same order.
     */
    @SuppressWarnings("unchecked")
    public Map<String, Object> json(Object... values) {
        if (values.length != list.size()) {
            throw new IllegalArgumentException(
                    type.getSimpleName() + ": " + values.length + " values for " + list.size() + " options");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            MethodOption<Object> o = (MethodOption<Object>) list.get(i);
            m.put(o.key(), o.json(values[i]));
        }
        return m;
    }

    public List<String> keys() {
        return list.stream().map(MethodOption::key).toList();
    }
}
