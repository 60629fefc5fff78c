package org.peft4j.job.state;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.optim.Optimizer;

/**
 * What travels between driver and executors in a round: trailing rows {@code [from, rows)} of adapter tensors and,
 * optionally, of the optimizer's moments, as floats. Entries name their tensor by its position in
 * {@link AdapterSet#params()} (both sides build the same adapters), so a slice costs its values plus 13 bytes per
 * entry; a round sends only the rows that can still change (LaMDA's B, row by row, stops travelling once frozen).
 *
 * @param optimizerSteps the optimizer's step count, or -1 in a slice without optimizer state
 * @param suffixes the moment suffixes kind 1, 2, ... stand for (AdamW: {@code .adam_m}, {@code .adam_v})
 * @param param index of each entry's tensor in {@link AdapterSet#params()}
 * @param kind 0 for the tensor's value, k for its moment {@code suffixes[k - 1]}
 * @param from first row each entry holds
 * @param values each entry's rows {@code [from, rows)}, row-major
 */
public record StateSlice(long optimizerSteps, String[] suffixes, int[] param, byte[] kind, int[] from, float[][] values)
        implements Serializable {

    /**
     * Rows {@code [fromRow[i], rows)} of every tensor {@code i} (by {@link AdapterSet#params()} position) with
     * {@code fromRow[i] < rows}, and, with {@code moments}, the same rows of every moment the optimizer holds.
     */
    public static StateSlice of(AdapterSet set, Optimizer optimizer, int[] fromRow, boolean moments) {
        return of(set, optimizer, fromRow, null, moments);
    }

    /**
     * Rows {@code [fromRow[i], toRow[i])} of every tensor with rows in that range ({@code toRow} null: to the end),
     * and, with {@code moments}, rows {@code [fromRow[i], rows)} of the moments of tensors that still train.
     */
    public static StateSlice of(AdapterSet set, Optimizer optimizer, int[] fromRow, int[] toRow, boolean moments) {
        List<String> names = new ArrayList<>(set.params().keySet());
        List<AdapterParam> params = new ArrayList<>(set.params().values());
        Builder b = new Builder();
        for (int i = 0; i < params.size(); i++) {
            int to = toRow == null ? params.get(i).rows() : toRow[i];
            if (fromRow[i] < to) {
                b.add(i, 0, fromRow[i], to, params.get(i).value());
            }
        }
        if (!moments) {
            return b.build(-1, new String[0]);
        }
        List<String> suffixes = new ArrayList<>();
        optimizer.state().forEach((key, m) -> {
            int dot = key.lastIndexOf('.');
            int i = dot < 0 ? -1 : names.indexOf(key.substring(0, dot));
            if (i < 0) {
                throw new IllegalStateException("optimizer moment " + key + " belongs to no adapter tensor");
            }
            String suffix = key.substring(dot);
            if (!suffixes.contains(suffix)) {
                suffixes.add(suffix);
            }
            AdapterParam p = params.get(i);
            if (fromRow[i] < p.rows() && p.isTrainable()) {
                b.add(i, suffixes.indexOf(suffix) + 1, fromRow[i], p.rows(), m);
            }
        });
        return b.build(optimizer.steps(), suffixes.toArray(new String[0]));
    }

    /**
     * Writes the rows into the adapters and, for a slice with optimizer state, replaces the optimizer's moments by
     * the slice's: a moment it lists keeps the receiver's leading rows (zeros where the receiver had none) under the
     * slice's rows; a moment it does not list is dropped.
     */
    public void applyTo(AdapterSet set, Optimizer optimizer) {
        List<String> names = new ArrayList<>(set.params().keySet());
        List<AdapterParam> params = new ArrayList<>(set.params().values());
        Map<String, INDArray> current = optimizer.state();
        Map<String, INDArray> moments = new LinkedHashMap<>();
        for (int e = 0; e < param.length; e++) {
            AdapterParam p = params.get(param[e]);
            if (kind[e] == 0) {
                rowsOf(p.value(), from[e], values[e].length / p.columns()).assign(block(e, p));
                continue;
            }
            String key = names.get(param[e]) + suffixes[kind[e] - 1];
            INDArray m = current.get(key);
            m = m == null ? Nd4j.zeros(DataType.FLOAT, p.rows(), p.columns()) : m.dup();
            rowsOf(m, from[e], values[e].length / p.columns()).assign(block(e, p));
            moments.put(key, m);
        }
        if (optimizerSteps >= 0) {
            optimizer.loadState(moments, optimizerSteps);
        }
    }

    /** The same entries with other values (an average of several executors' slices). */
    public StateSlice withValues(float[][] newValues, long steps) {
        return new StateSlice(steps, suffixes, param, kind, from, newValues);
    }

    /** Whether {@code o} lists the same entries (tensor, kind, first row, length) in the same order. */
    public boolean sameEntries(StateSlice o) {
        if (param.length != o.param.length || optimizerSteps != o.optimizerSteps) {
            return false;
        }
        for (int e = 0; e < param.length; e++) {
            if (param[e] != o.param[e]
                    || kind[e] != o.kind[e]
                    || from[e] != o.from[e]
                    || values[e].length != o.values[e].length) {
                return false;
            }
        }
        return java.util.Arrays.equals(suffixes, o.suffixes);
    }

    public boolean isEmpty() {
        return param.length == 0;
    }

    /** Values sent: 4 bytes each. */
    public long valueCount() {
        long n = 0;
        for (float[] v : values) {
            n += v.length;
        }
        return n;
    }

    /** What the slice costs on the wire, near enough: its floats and 13 bytes of index per entry. */
    public long bytes() {
        return 4 * valueCount() + 13L * param.length;
    }

    private INDArray block(int e, AdapterParam p) {
        return Nd4j.create(values[e], new long[] {values[e].length / p.columns(), p.columns()}, DataType.FLOAT);
    }

    /** Rows {@code [from, from + n)} of {@code t}, as a view. */
    private static INDArray rowsOf(INDArray t, int from, long n) {
        return from == 0 && n == t.rows() ? t : t.get(NDArrayIndex.interval(from, from + n), NDArrayIndex.all());
    }

    private static final class Builder {
        private final List<Integer> param = new ArrayList<>();
        private final List<Byte> kind = new ArrayList<>();
        private final List<Integer> from = new ArrayList<>();
        private final List<float[]> values = new ArrayList<>();

        void add(int p, int k, int fromRow, int toRow, INDArray t) {
            if (t.dataType() != DataType.FLOAT) {
                throw new IllegalStateException(
                        "adapter state travels as float32; found a " + t.dataType() + " tensor (" + p + ")");
            }
            param.add(p);
            kind.add((byte) k);
            from.add(fromRow);
            values.add(rowsOf(t, fromRow, toRow - fromRow).dup('c').data().asFloat());
        }

        StateSlice build(long steps, String[] suffixes) {
            byte[] k = new byte[kind.size()];
            for (int i = 0; i < k.length; i++) {
                k[i] = kind.get(i);
            }
            return new StateSlice(
                    steps,
                    suffixes,
                    param.stream().mapToInt(Integer::intValue).toArray(),
                    k,
                    from.stream().mapToInt(Integer::intValue).toArray(),
                    values.toArray(new float[0][]));
        }
    }
}
