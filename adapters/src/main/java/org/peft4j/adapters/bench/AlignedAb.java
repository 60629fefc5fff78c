package org.peft4j.adapters.bench;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.linalg.AlignedArrays;

/**
 * {@code bench --ab aligned}: what 64-byte aligned arrays ({@link AlignedArrays}) change in a training step, measured
 * the one way a shared machine whose speed swings within minutes allows: two models of the same shape and method in
 * one process, one built and warmed up with alignment off and one with it on, stepped alternately (off-on, then
 * on-off) so that a slow spell falls on both.
 */
public final class AlignedAb {
    private AlignedAb() {}

    /** Seconds per step of each pair, their medians, and in how many pairs the aligned step was faster. */
    public record Result(String method, String dtype, double[] offSeconds, double[] onSeconds, int onFaster) {
        public double medianOff() {
            return median(offSeconds);
        }

        public double medianOn() {
            return median(onSeconds);
        }

        /** Median unaligned over median aligned step time: above 1 when alignment is faster. */
        public double speedup() {
            return medianOff() / medianOn();
        }
    }

    public static Result run(ModelBench.Shape s, String method, int pairs, DataType storage) {
        if (pairs < 1) {
            throw new IllegalArgumentException("--steps: at least 1 pair, found " + pairs);
        }
        boolean was = AlignedArrays.enabled();
        try {
            ModelBench.Trainee[] t = new ModelBench.Trainee[2];
            for (int v = 0; v < 2; v++) {
                AlignedArrays.setEnabled(v == 1);
                t[v] = ModelBench.Trainee.of(s, method, storage);
                t[v].step(0); // warm-up: its buffers are made here, with its setting
            }
            double[][] seconds = new double[2][pairs];
            int onFaster = 0;
            for (int i = 0; i < pairs; i++) {
                for (int k = 0; k < 2; k++) {
                    int v = i % 2 == 0 ? k : 1 - k;
                    AlignedArrays.setEnabled(v == 1);
                    seconds[v][i] = t[v].step(1 + i);
                }
                if (seconds[1][i] < seconds[0][i]) {
                    onFaster++;
                }
            }
            return new Result(method, ModelBench.dtypeName(storage), seconds[0], seconds[1], onFaster);
        } finally {
            AlignedArrays.setEnabled(was);
        }
    }

    static double median(double[] x) {
        double[] s = x.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
