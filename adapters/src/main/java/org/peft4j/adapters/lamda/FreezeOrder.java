package org.peft4j.adapters.lamda;

import org.peft4j.adapters.core.KeyedOption;

/**
 * Which of B's rows (PMB) freeze first: W0's singular directions by singular value. B's rows freeze as a leading
 * block; smallest-first stores the rank index reversed at init (A's columns, S's rows and columns, B's rows), which
 * leaves the adapter's function unchanged and makes the leading rows the smallest singular directions.
 */
public enum FreezeOrder implements KeyedOption {
    /** Paper, default: the direction of the largest singular value freezes first. */
    LARGEST_FIRST,
    /** The direction of the smallest kept singular value freezes first; the leading directions train longest. */
    SMALLEST_FIRST
}
