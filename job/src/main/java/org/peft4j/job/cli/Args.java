package org.peft4j.job.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.core.Suggest;

/**
 * {@code --key value}, {@code --key=value} and {@code --flag} options. Dashes in keys are read as underscores, so
 * {@code --freeze-fraction} and {@code --freeze_fraction} are the same option. Every option must be consumed: what
 * is left is reported with the nearest valid name.
 */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> used = new LinkedHashSet<>();
    private final Set<String> known = new LinkedHashSet<>();

    static Args parse(List<String> argv, Set<String> flags) {
        Args a = new Args();
        for (int i = 0; i < argv.size(); i++) {
            String s = argv.get(i);
            if (!s.startsWith("--") || s.length() == 2) {
                throw new UsageException("unexpected argument '" + s + "' (options start with --)");
            }
            String key = s.substring(2);
            String value;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            } else if (flags.contains(key.replace('-', '_'))) {
                value = "true";
            } else if (i + 1 < argv.size()) {
                value = argv.get(++i);
            } else {
                throw new UsageException("option --" + key + " needs a value");
            }
            a.values.put(key.replace('-', '_'), value);
        }
        return a;
    }

    String get(String key, String dflt) {
        known.add(key);
        used.add(key);
        return values.getOrDefault(key, dflt);
    }

    String required(String key) {
        String v = get(key, null);
        if (v == null) {
            throw new UsageException("missing option --" + key.replace('_', '-'));
        }
        return v;
    }

    boolean flag(String key) {
        return Boolean.parseBoolean(get(key, "false"));
    }

    int integer(String key, int dflt) {
        String v = get(key, null);
        try {
            return v == null ? dflt : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + key.replace('_', '-') + ": expected an integer, found '" + v + "'");
        }
    }

    Double number(String key) {
        String v = get(key, null);
        try {
            return v == null ? null : Double.valueOf(v);
        } catch (NumberFormatException e) {
            throw new UsageException("option --" + key.replace('_', '-') + ": expected a number, found '" + v + "'");
        }
    }

    /** Takes every remaining option whose key is in {@code keys}. */
    Map<String, String> take(Set<String> keys) {
        Map<String, String> out = new LinkedHashMap<>();
        known.addAll(keys);
        for (String k : keys) {
            if (values.containsKey(k)) {
                out.put(k, values.get(k));
                used.add(k);
            }
        }
        return out;
    }

    /** Fails on any option nobody asked for. */
    void finish() {
        List<String> left = new ArrayList<>(values.keySet());
        left.removeAll(used);
        if (!left.isEmpty()) {
            String k = left.get(0);
            throw new UsageException("unknown option --" + k.replace('_', '-')
                    + (known.isEmpty()
                            ? ""
                            : " (did you mean --" + Suggest.nearest(k, known).replace('_', '-') + "?)"));
        }
    }

    /** A command-line mistake: printed with the command's usage, exit code 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }
}
