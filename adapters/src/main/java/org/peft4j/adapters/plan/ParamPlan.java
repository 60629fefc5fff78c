package org.peft4j.adapters.plan;

import java.util.ArrayList;
import java.util.List;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.model.llama.LlamaConfig;

/**
 * Trainable-parameter plan of a run from a model config alone, without loading weights. The per-target counts are
 * each method's ({@link AdapterMethod#paramsPerTarget}, METHODS.md's formulas); a test checks them against the counts
 * of real injected adapters.
 */
public record ParamPlan(AdapterSpec spec, List<Row> rows, long total) {

    /**
     * One module kind across the adapted layers.
     *
     * @param trainable per target before PMB freezing
     * @param trainableAfterFreeze per target after (LaMDA) or the same (others)
     */
    public record Row(
            String module,
            int dIn,
            int dOut,
            int count,
            long trainable,
            long trainableAfterFreeze,
            int tensorsAfterFreeze) {}

    public static ParamPlan of(LlamaConfig config, AdapterSpec spec) {
        List<Row> rows = new ArrayList<>();
        int r = spec.rank();
        int layers = config.numHiddenLayers();
        if (spec.layers() != null) {
            int last = spec.layers().get(spec.layers().size() - 1);
            if (last >= layers) {
                throw new IllegalArgumentException(
                        "layers: expected layer indices in 0.." + (layers - 1) + ", found " + last);
            }
            layers = spec.layers().size();
        }
        for (String m : AdapterSpec.MODULES) {
            if (!spec.targets().contains(m)) {
                continue;
            }
            int[] s = config.moduleShape(m);
            var counts = spec.method().paramsPerTarget(s[0], s[1], r, spec.options());
            if (r > Math.min(s[0], s[1])) {
                throw new IllegalArgumentException("module " + m + ": rank must be <= min(d_in, d_out) = "
                        + Math.min(s[0], s[1]) + ", found " + r);
            }
            rows.add(new Row(
                    m,
                    s[0],
                    s[1],
                    layers,
                    counts.trainable(),
                    counts.trainableAfterFreeze(),
                    counts.tensorsAfterFreeze()));
        }
        return new ParamPlan(spec, rows, config.parameterCount());
    }

    public long trainable() {
        return rows.stream().mapToLong(x -> x.count() * x.trainable()).sum();
    }

    public long trainableAfterFreeze() {
        return rows.stream()
                .mapToLong(x -> x.count() * x.trainableAfterFreeze())
                .sum();
    }

    /**
     * Bytes a round moves once freezing is done, per executor each way (broadcast, and returned likewise): every
     * value that still trains, with {@code moments} optimizer moments each (AdamW 2, SGD 0), as float32, plus 13 bytes
     * of index per tensor sent. LoRA with {@code aggregation = product} also moves its dense residual and products.
     */
    public long bytesPerRoundAfterFreeze(int moments) {
        long values = 0;
        long entries = 0;
        for (Row x : rows) {
            values += x.count() * x.trainableAfterFreeze();
            entries += (long) x.count() * x.tensorsAfterFreeze();
        }
        return 4 * values * (1 + moments) + 13 * entries * (1 + moments);
    }

    /** PEFT's line; like PEFT, "all params" counts the base and the adapters. */
    public String peftLine() {
        long all = total + trainable();
        return String.format(
                "trainable params: %,d || all params: %,d || trainable%%: %.4f",
                trainable(), all, 100.0 * trainable() / all);
    }
}
