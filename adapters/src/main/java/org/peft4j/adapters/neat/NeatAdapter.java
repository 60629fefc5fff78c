package org.peft4j.adapters.neat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.BaseAdapter;
import org.peft4j.adapters.core.LoraForm;
import org.peft4j.adapters.linalg.Gemm;

/**
 * Neat (Zhong et al., arXiv 2410.01870, section 3): the update is a small MLP of the frozen weight itself,
 * {@code y += s x dW}, {@code dW = sigma(M T1) T2} with M = W0 (rows) or W0^T (columns), T1 (n x r) Kaiming and
 * T2 (r x n) zero, so dW = 0 at step 0. Depth D > 2 inserts (D-2)/2 encoder and (D-2)/2 decoder r x r layers, each
 * followed by sigma, decoders adding the mirrored encoder input as a residual.
 *
 * <p>dW is never formed while training: x dW = (x H) T2 with H = MLP hidden (m x r), which is computed once per step,
 * not per token. The T1 gradient then needs x^T (dy T2^T) (d_in x r), never a full d_in x d_out product.
 */
public final class NeatAdapter extends BaseAdapter {
    private final AdapterParam t1;
    private final AdapterParam t2;
    private final List<AdapterParam> encoders;
    private final List<AdapterParam> decoders;
    private final NeatOptions options;
    private INDArray w0;
    // Per step: pre-activations P_i and outputs h_i of the MLP over W0 (each m x r); h.get(last) = H.
    private final List<INDArray> pre = new ArrayList<>();
    private final List<INDArray> hidden = new ArrayList<>();
    private INDArray keptX;
    /** The MLP's weights as they were when {@link #pre} and {@link #hidden} were last computed, or null. */
    private double[][] hiddenFrom;

    public NeatAdapter(
            int dIn,
            int dOut,
            INDArray t1,
            INDArray t2,
            List<INDArray> encoders,
            List<INDArray> decoders,
            double alpha,
            NeatOptions options) {
        super(dIn, dOut, (int) t1.columns(), alpha / t1.columns(), t1.dataType());
        if (encoders.size() != (options.depth() - 2) / 2 || decoders.size() != encoders.size()) {
            throw new IllegalArgumentException("Neat depth " + options.depth() + " needs " + (options.depth() - 2) / 2
                    + " encoders and decoders, found " + encoders.size() + " and " + decoders.size());
        }
        this.t1 = AdapterParam.trainable("neat_T1", t1);
        this.t2 = AdapterParam.trainable("neat_T2", t2);
        this.encoders = new ArrayList<>();
        this.decoders = new ArrayList<>();
        for (int i = 0; i < encoders.size(); i++) {
            this.encoders.add(AdapterParam.trainable("neat_E" + i, encoders.get(i)));
            this.decoders.add(AdapterParam.trainable("neat_D" + i, decoders.get(i)));
        }
        this.options = options;
    }

    private boolean rows() {
        return options.orientation() == NeatOptions.Orientation.ROWS;
    }

    @Override
    public void onAttach(INDArray w0) {
        this.w0 = w0;
    }

    @Override
    public boolean deltaDependsOnBase() {
        return true;
    }

    /**
     * Runs the MLP over M = W0 (or W0^T), keeping P_i and h_i; returns H (m x r). H depends only on W0, which is frozen
     * (merging changes it, but a merged layer never calls its adapter, and unmerging restores it exactly), and on the
     * MLP's weights: while those are bit for bit what the last run saw, that run's P_i and h_i are reused. A decoding
     * step, or a micro-batch after the first of a step, thus skips an m x n x r product and a widened copy of a bf16
     * W0. Comparing the weights costs m x r reads; whatever changed them (an optimizer step, averaging, a checkpoint)
     * is caught, as nothing tells the adapter.
     */
    private INDArray hiddenOfBase() {
        double[][] weights = mlpWeights();
        if (Arrays.deepEquals(hiddenFrom, weights)) {
            return hidden.get(hidden.size() - 1);
        }
        hiddenFrom = null;
        pre.clear();
        hidden.clear();
        int m = rows() ? dIn() : dOut();
        INDArray p0 = Nd4j.create(t1.value().dataType(), m, rank());
        Gemm.set(p0, w0, !rows(), t1.value(), false);
        pre.add(p0);
        hidden.add(options.activation().apply(p0));
        int k = encoders.size();
        for (int i = 0; i < k; i++) {
            INDArray p = hidden.get(hidden.size() - 1).mmul(encoders.get(i).value());
            pre.add(p);
            hidden.add(options.activation().apply(p));
        }
        for (int j = 0; j < k; j++) {
            INDArray p = hidden.get(hidden.size() - 1).mmul(decoders.get(j).value());
            pre.add(p);
            // Decoder j adds the input of the mirrored encoder (k - 1 - j), i.e. h_{k-1-j}.
            hidden.add(options.activation().apply(p).addi(hidden.get(k - 1 - j)));
        }
        hiddenFrom = weights;
        return hidden.get(hidden.size() - 1);
    }

    /** The values of T1 and the encoder and decoder weights (what H depends on besides W0), exactly. */
    private double[][] mlpWeights() {
        double[][] w = new double[1 + encoders.size() + decoders.size()][];
        int i = 0;
        w[i++] = values(t1.value());
        for (AdapterParam e : encoders) {
            w[i++] = values(e.value());
        }
        for (AdapterParam d : decoders) {
            w[i++] = values(d.value());
        }
        return w;
    }

    private static double[] values(INDArray x) {
        INDArray whole = x.isView() || x.data().length() != x.length() ? x.dup() : x;
        return whole.data().asDouble();
    }

    @Override
    public void forward(INDArray x, INDArray y, boolean train) {
        if (w0 == null) {
            throw new IllegalStateException("Neat adapter used before being attached to its weight");
        }
        INDArray h = hiddenOfBase();
        INDArray z = scratch.get("z", x.rows(), rank());
        if (rows()) { // y += s (x H) T2
            Gemm.set(z, x, false, h, false);
            Gemm.add(y, z, false, t2.value(), false, scaling);
        } else { // y += s (x T2^T) H^T
            Gemm.set(z, x, false, t2.value(), true);
            Gemm.add(y, z, false, h, true, scaling);
        }
        keptX = train ? x : null;
    }

    @Override
    public void backward(INDArray dy, INDArray dx) {
        if (keptX == null) {
            throw new IllegalStateException("Neat backward without a training forward");
        }
        long t = dy.rows();
        int m = rows() ? dIn() : dOut();
        INDArray h = hidden.get(hidden.size() - 1);
        INDArray z = scratch.get("z", t, rank());
        INDArray gz = scratch.get("gz", t, rank());
        INDArray dh = Nd4j.create(h.dataType(), m, rank());
        if (rows()) {
            Gemm.add(t2.grad(), z, true, dy, false, scaling); // dT2 += s z^T dy
            Gemm.into(gz, dy, false, t2.value(), true, scaling, 0); // gz = s dy T2^T
            Gemm.set(dh, keptX, true, gz, false); // dH = x^T gz
            if (dx != null) {
                Gemm.add(dx, gz, false, h, true, 1.0); // dx += gz H^T
            }
        } else {
            Gemm.into(gz, dy, false, h, false, scaling, 0); // gz = s dy H
            Gemm.add(t2.grad(), gz, true, keptX, false, 1.0); // dT2 += gz^T x
            Gemm.into(dh, dy, true, z, false, scaling, 0); // dH = s dy^T z
            if (dx != null) {
                Gemm.add(dx, gz, false, t2.value(), false, 1.0); // dx += gz T2
            }
        }
        backwardThroughMlp(dh);
        keptX = null;
    }

    /** From dL/dH back to the MLP's weights: decoders (with their residuals), encoders, then T1. */
    private void backwardThroughMlp(INDArray dH) {
        NeatActivation act = options.activation();
        int k = encoders.size();
        INDArray[] residual = new INDArray[k];
        INDArray grad = dH;
        for (int j = k - 1; j >= 0; j--) {
            int level = k + 1 + j; // h_level = sigma(P_level) + h_{k-1-j}
            residual[k - 1 - j] = grad;
            INDArray dp = grad.mul(act.derivative(pre.get(level)));
            Gemm.add(decoders.get(j).grad(), hidden.get(level - 1), true, dp, false, 1.0);
            grad = dp.mmul(decoders.get(j).value().transpose());
        }
        for (int i = k - 1; i >= 0; i--) {
            int level = i + 1; // h_level = sigma(h_{level-1} E_i)
            if (level < k && residual[level] != null) {
                grad = grad.add(residual[level]);
            }
            INDArray dp = grad.mul(act.derivative(pre.get(level)));
            Gemm.add(encoders.get(i).grad(), hidden.get(level - 1), true, dp, false, 1.0);
            grad = dp.mmul(encoders.get(i).value().transpose());
        }
        if (k > 0) {
            grad = grad.add(residual[0]);
        }
        INDArray dp0 = grad.mul(act.derivative(pre.get(0)));
        Gemm.add(t1.grad(), w0, rows(), dp0, false, 1.0); // dT1 += M^T dP0
    }

    @Override
    public INDArray scaledDeltaWeight() {
        INDArray dm = hiddenOfBase().mmul(t2.value()).muli(scaling); // m x n
        return rows() ? dm : dm.transpose().dup('c');
    }

    /**
     * rows: s dW = H (s T2), H = the MLP's hidden of W0 (d_in x r); columns: s dW = T2^T (s H^T), H of W0^T
     * (d_out x r). Rank r either way, computed from W0 as attached.
     */
    @Override
    public LoraForm.Factors loraFactors() {
        INDArray h = hiddenOfBase().dup();
        return rows()
                ? new LoraForm.Factors(h, t2.value().mul(scaling))
                : new LoraForm.Factors(
                        t2.value().transpose().dup('c'),
                        h.transpose().mul(scaling).dup('c'));
    }

    @Override
    public long keptBytes() {
        if (keptX == null) {
            return 0;
        }
        long width = keptX.dataType().width();
        long mlp = 0;
        for (INDArray a : pre) {
            mlp += 2 * a.length();
        }
        return (keptX.length() + keptX.rows() * rank() + mlp) * width;
    }

    @Override
    public List<AdapterParam> params() {
        List<AdapterParam> ps = new ArrayList<>(List.of(t1, t2));
        ps.addAll(encoders);
        ps.addAll(decoders);
        return ps;
    }
}
