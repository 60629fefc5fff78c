package org.peft4j.adapters.lamda;

/** Which PMB freezing schedule runs (METHODS.md, "PMB freezing"). */
public enum FreezeMode {
    /** Paper, default: row j freezes at step floor((j + 1) t_f / r), t_f = ceil(fraction * total steps). */
    PAPER("paper"),
    /** Official code: the first floor(progress / fraction) rows are frozen; with r above 1/fraction B never fully freezes. */
    CODE("code");

    private final String key;

    FreezeMode(String key) {
        this.key = key;
    }

    public String key() {
        return key;
    }

    public static FreezeMode parse(String s) {
        for (FreezeMode v : values()) {
            if (v.key.equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("freeze: expected one of paper, code, found '" + s + "'");
    }
}
