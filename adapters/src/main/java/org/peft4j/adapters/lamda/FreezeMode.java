package org.peft4j.adapters.lamda;

import org.peft4j.adapters.core.KeyedOption;

/** Which PMB freezing schedule runs (METHODS.md, "PMB freezing"). */
public enum FreezeMode implements KeyedOption {
    /** Paper, default: row j freezes at step floor((j + 1) t_f / r), t_f = ceil(fraction * total steps). */
    PAPER,
    /** Official code: the first floor(progress / fraction) rows are frozen; with r above 1/fraction B never fully freezes. */
    CODE
}
