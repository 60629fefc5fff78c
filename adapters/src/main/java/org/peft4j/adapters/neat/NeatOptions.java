package org.peft4j.adapters.neat;

import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.KeyedOption;
import org.peft4j.adapters.core.MethodOption;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;

/**
 * Neat options; keys, defaults and docs are the constants below.
 *
 * @param activation sigma
 * @param depth number of MLP layers: 2, 4, 6, ...
 * @param orientation whether the MLP reads the rows of W0 (paper) or its columns (official LLM code)
 */
public record NeatOptions(NeatActivation activation, int depth, Orientation orientation) implements MethodOptions {
    public static final MethodOption<NeatActivation> ACTIVATION = MethodOption.choice(
            "activation", NeatActivation.class, NeatActivation.RELU, "sigma of the MLP: max(0, x) or sin(2 pi x)");
    public static final MethodOption<Integer> DEPTH = MethodOption.integer(
            "depth", "2, 4, 6, ...", r -> 2, "2", "MLP layers; above 2, (depth-2)/2 encoder and decoder r x r layers");
    public static final MethodOption<Orientation> ORIENTATION = MethodOption.choice(
            "orientation",
            Orientation.class,
            Orientation.ROWS,
            "rows: dW = f(W0), 2 r d_out values (paper); columns: f(W0^T)^T, 2 r d_in (official LLM code)");
    public static final OptionSet<NeatOptions> SET =
            new OptionSet<>(NeatOptions.class, List.of(ACTIVATION, DEPTH, ORIENTATION), NeatOptions::parse);

    public NeatOptions {
        if (depth < 2 || depth % 2 != 0) {
            throw new IllegalArgumentException("depth: expected an even number >= 2, found " + depth);
        }
    }

    static NeatOptions parse(Map<String, String> raw, int rank) {
        return new NeatOptions(ACTIVATION.read(raw, rank), DEPTH.read(raw, rank), ORIENTATION.read(raw, rank));
    }

    /** The length of the rows the MLP reads: d_out for rows, d_in for columns. */
    public int rowLength(int dIn, int dOut) {
        return orientation == Orientation.ROWS ? dOut : dIn;
    }

    @Override
    public Map<String, Object> toJson() {
        return SET.json(activation, depth, orientation);
    }

    /** Which side of W0 the MLP is applied to. */
    public enum Orientation implements KeyedOption {
        /** d_in rows of length d_out: dW = f(W0); 2 r d_out parameters. */
        ROWS,
        /** d_out columns of length d_in: dW = f(W0^T)^T; 2 r d_in parameters. */
        COLUMNS
    }
}
