package org.peft4j.job.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import org.peft4j.adapters.core.KeyedOption;
import org.peft4j.adapters.core.Suggest;
import org.peft4j.datasets.Datasets;

/**
 * Typed reads of one config value each, whose errors name the key, what was expected, what was found and where it
 * was written (file and line, or the --set it came from).
 */
final class ConfigValues {
    static final String ROOT = ConfigLoader.ROOT;

    private ConfigValues() {}

    static String string(Config c, String key) {
        return string(c, key, null);
    }

    static String string(Config c, String key, String listPath) {
        ConfigValue v = value(c, key, listPath, "a string");
        if (v.valueType() != ConfigValueType.STRING
                && v.valueType() != ConfigValueType.NUMBER
                && v.valueType() != ConfigValueType.BOOLEAN) {
            throw wrong(key, listPath, "a string", v);
        }
        return String.valueOf(v.unwrapped());
    }

    static int integer(Config c, String key, int min, int max) {
        ConfigValue v = value(c, key, null, "an integer");
        long n;
        if (v.valueType() == ConfigValueType.STRING
                && ((String) v.unwrapped()).strip().matches("-?\\d{1,18}")) {
            n = Long.parseLong(((String) v.unwrapped()).strip()); // -D values are strings; HOCON converts them
        } else if (v.valueType() == ConfigValueType.NUMBER
                && (v.unwrapped() instanceof Integer || v.unwrapped() instanceof Long)) {
            n = ((Number) v.unwrapped()).longValue();
        } else {
            throw wrong(key, null, "an integer in [" + min + ", " + max + "]", v);
        }
        if (n < min || n > max) {
            throw wrong(key, null, "an integer in [" + min + ", " + max + "]", v);
        }
        return (int) n;
    }

    static boolean bool(Config c, String key) {
        ConfigValue v = value(c, key, null, "true or false");
        Object u = v.unwrapped();
        if (u instanceof Boolean b) {
            return b;
        }
        if (u instanceof String s && (s.strip().equals("true") || s.strip().equals("false"))) {
            return Boolean.parseBoolean(s.strip()); // -D values are strings
        }
        throw wrong(key, null, "true or false", v);
    }

    static double number(Config c, String key, double min, double max) {
        return number(c, key, min, max, null);
    }

    static double number(Config c, String key, double min, double max, String listPath) {
        ConfigValue v = value(c, key, listPath, "a number");
        double d;
        if (v.valueType() == ConfigValueType.NUMBER) {
            d = ((Number) v.unwrapped()).doubleValue();
        } else {
            try {
                d = v.valueType() == ConfigValueType.STRING
                        ? Double.parseDouble(((String) v.unwrapped()).strip())
                        : Double.NaN;
            } catch (NumberFormatException e) {
                d = Double.NaN;
            }
            if (Double.isNaN(d)) {
                throw wrong(key, listPath, "a number in [" + min + ", " + max + "]", v);
            }
        }
        if (d < min || d > max) {
            throw wrong(key, listPath, "a number in [" + min + ", " + max + "]", v);
        }
        return d;
    }

    /** The constant of {@code type} whose key the value is, or an error listing the keys. */
    static <E extends Enum<E> & KeyedOption> E choice(Config c, String key, Class<E> type) {
        List<String> keys = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            keys.add(e.key());
        }
        return KeyedOption.parse(type, key, oneOf(c, key, keys));
    }

    static String oneOf(Config c, String key, List<String> allowed) {
        String s = string(c, key);
        if (!allowed.contains(s)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "." + key + ": expected one of "
                    + allowed + ", found '" + s + "'"
                    + (allowed.size() > 2 ? " (did you mean '" + Suggest.nearest(s, allowed) + "'?)" : ""));
        }
        return s;
    }

    static String dataset(Config c, String key, String listPath) {
        String s = string(c, key, listPath);
        if (!Datasets.names().contains(s)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "."
                    + (listPath == null ? "" : listPath + ".") + key + ": unknown dataset '" + s + "' (did you mean '"
                    + Suggest.nearest(s, Datasets.names()) + "'?)");
        }
        return s;
    }

    static List<String> strings(Config c, String key) {
        ConfigValue v = value(c, key, null, "a list of strings");
        if (v.valueType() != ConfigValueType.LIST) {
            throw wrong(key, null, "a list of strings", v);
        }
        return c.getStringList(key);
    }

    static List<? extends ConfigObject> objects(Config c, String key) {
        ConfigValue v = value(c, key, null, "a list of objects");
        if (v.valueType() != ConfigValueType.LIST) {
            throw wrong(key, null, "a list of objects", v);
        }
        try {
            return c.getObjectList(key);
        } catch (ConfigException.WrongType e) {
            throw wrong(key, null, "a list of objects", v);
        }
    }

    static ConfigValue value(Config c, String key, String listPath, String expected) {
        if (!c.hasPathOrNull(key)) {
            throw new IllegalArgumentException(ROOT + "." + (listPath == null ? "" : listPath + ".") + key
                    + ": missing (expected " + expected + ")");
        }
        if (c.getIsNull(key)) {
            throw new IllegalArgumentException(where(c.getValue(key)) + ROOT + "."
                    + (listPath == null ? "" : listPath + ".") + key + ": expected " + expected + ", found null");
        }
        return c.getValue(key);
    }

    static IllegalArgumentException wrong(String key, String listPath, String expected, ConfigValue v) {
        return new IllegalArgumentException(where(v) + ROOT + "." + (listPath == null ? "" : listPath + ".") + key
                + ": expected " + expected + ", found " + v.render(ConfigRenderOptions.concise()));
    }

    /** "file: line N: " for values written in a file or --set; empty for defaults. */
    static String where(ConfigValue v) {
        var o = v.origin();
        if (o == null || o.description() == null || o.description().contains("reference.conf")) {
            return "";
        }
        String d = o.filename() != null ? o.filename() : o.description().replaceAll(": \\d+$", "");
        return o.lineNumber() > 0 && !d.startsWith("--set") ? d + ": line " + o.lineNumber() + ": " : d + ": ";
    }

    /** An integer, or null when the key is null. */
    static Integer nullableInteger(Config c, String key, int min, int max) {
        return c.getIsNull(key) ? null : integer(c, key, min, max);
    }

    /** A number, or null when the key is null. */
    static Double nullableNumber(Config c, String key, double min, double max) {
        return c.getIsNull(key) ? null : number(c, key, min, max);
    }

    /** A list of numbers, each in [min, max), of the given length. */
    static double[] numbers(Config c, String key, int length, double min, double max) {
        ConfigValue v = value(c, key, null, "a list of " + length + " numbers");
        List<Double> out;
        try {
            out = c.getDoubleList(key);
        } catch (ConfigException.WrongType e) {
            throw wrong(key, null, "a list of " + length + " numbers in [" + min + ", " + max + ")", v);
        }
        if (out.size() != length || out.stream().anyMatch(d -> d < min || d >= max)) {
            throw wrong(key, null, "a list of " + length + " numbers in [" + min + ", " + max + ")", v);
        }
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** Layer indices: null (all), a list of integers, or a range "a-b" (inclusive). */
    static List<Integer> layers(Config c, String key) {
        if (c.getIsNull(key)) {
            return null;
        }
        ConfigValue v = c.getValue(key);
        String expected = "null, a list of layer indices or a range like \"4-31\"";
        List<Integer> out = new ArrayList<>();
        if (v.valueType() == ConfigValueType.LIST) {
            try {
                out.addAll(c.getIntList(key));
            } catch (ConfigException.WrongType e) {
                throw wrong(key, null, expected, v);
            }
        } else if (v.valueType() == ConfigValueType.STRING
                && ((String) v.unwrapped()).strip().matches("\\d+\\s*(-|\\.\\.)\\s*\\d+")) {
            String[] ab = ((String) v.unwrapped()).strip().split("\\s*(-|\\.\\.)\\s*");
            for (int i = Integer.parseInt(ab[0]); i <= Integer.parseInt(ab[1]); i++) {
                out.add(i);
            }
        } else {
            throw wrong(key, null, expected, v);
        }
        if (out.isEmpty() || out.stream().anyMatch(i -> i < 0)) {
            throw wrong(key, null, expected, v);
        }
        return out;
    }
}
