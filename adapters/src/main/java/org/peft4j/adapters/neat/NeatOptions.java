package org.peft4j.adapters.neat;

import org.peft4j.adapters.core.KeyedOption;
import org.peft4j.adapters.core.MethodOptions;

/**
 * Neat options.
 *
 * @param activation sigma; default relu
 * @param depth number of MLP layers: 2 (default), 4, 6, ...
 * @param orientation whether the MLP reads the rows of W0 (paper, default) or its columns (official LLM code)
 */
public record NeatOptions(NeatActivation activation, int depth, Orientation orientation) implements MethodOptions {
    public static final NeatOptions DEFAULTS = new NeatOptions(NeatActivation.RELU, 2, Orientation.ROWS);

    public NeatOptions {
        if (depth < 2 || depth % 2 != 0) {
            throw new IllegalArgumentException("depth: expected an even number >= 2, found " + depth);
        }
    }

    /** Which side of W0 the MLP is applied to. */
    public enum Orientation implements KeyedOption {
        /** d_in rows of length d_out: dW = f(W0); 2 r d_out parameters. */
        ROWS("rows"),
        /** d_out columns of length d_in: dW = f(W0^T)^T; 2 r d_in parameters. */
        COLUMNS("columns");

        private final String key;

        Orientation(String key) {
            this.key = key;
        }

        @Override
        public String key() {
            return key;
        }

        public static Orientation parse(String s) {
            return KeyedOption.parse(Orientation.class, "orientation", s);
        }
    }
}
