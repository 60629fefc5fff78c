package org.peft4j.adapters.lamda;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.peft4j.adapters.core.AdapterParam;
import org.peft4j.adapters.core.BaseAdapter;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.core.LoraForm;
import org.peft4j.adapters.linalg.Gemm;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.linalg.TruncatedSvd;

/**
 * LaMDA (Azizi et al., EMNLP 2024 Findings, arXiv 2406.12832, section 3): {@code y += s ((x A) S) B} with
 * A = PMA (d_in x r) always frozen, S = LDA (r x r) trainable, and B = PMB (r x d_out) trainable until the
 * {@link PmbFreezeSchedule} freezes it row by row.
 *
 * <p>Backward keeps only u = x A (tokens x r), plus v = u S while B still trains; x itself is never kept, A gets no
 * gradient, and once B is wholly frozen its gradient is not computed at all.
 *
 * <p>With {@link LamdaInit#SVD_RESIDUAL} the adapter also holds {@code lamda_residual_B} = Sigma_r V_r^T (frozen):
 * attaching subtracts A times it from W0, so that a fresh base model plus a checkpoint rebuilds the same layer.
 */
public final class LamdaAdapter extends BaseAdapter {
    private final AdapterParam a;
    private final AdapterParam s;
    private final AdapterParam b;
    private final AdapterParam residualB;
    private final LamdaOptions options;
    private PmbFreezeSchedule schedule;
    private long keptRows = -1;
    private boolean keptV;

    /**
     * @param residualB Sigma_r V_r^T subtracted from W0 on attach (svd-residual), or null
     */
    public LamdaAdapter(INDArray a, INDArray s, INDArray b, INDArray residualB, double alpha, LamdaOptions options) {
        super((int) a.rows(), (int) b.columns(), (int) a.columns(), alpha / a.columns(), a.dataType());
        this.a = AdapterParam.frozen("lamda_A", a);
        this.s = AdapterParam.trainable("lamda_S", s);
        this.b = AdapterParam.trainable("lamda_B", b);
        this.residualB = residualB == null ? null : AdapterParam.frozen("lamda_residual_B", residualB);
        this.options = options;
    }

    /** Initialises from W0 as {@code options.init()} says; {@code svd} may be null unless an SVD init is chosen. */
    public static LamdaAdapter init(
            INDArray w0, int rank, double alpha, LamdaOptions options, TruncatedSvd.Result svd, SplittableRandom rng) {
        var type = w0.dataType();
        double scaling = alpha / rank;
        return switch (options.init()) {
            case RANDOM ->
                new LamdaAdapter(
                        Init.kaimingUniform(type, w0.rows(), rank, w0.rows(), rng),
                        RandomMatrix.uniform(type, rank, rank, 1.0 / Math.sqrt(rank), rng),
                        Nd4j.zeros(type, rank, w0.columns()),
                        null,
                        alpha,
                        options);
            case SVD_ZERO -> {
                TruncatedSvd.Result t = ordered(svd.truncate(rank), options.freezeOrder());
                yield new LamdaAdapter(t.u(), Nd4j.zeros(type, rank, rank), t.vt(), null, alpha, options);
            }
            case SVD_RESIDUAL -> {
                TruncatedSvd.Result t = ordered(svd.truncate(rank), options.freezeOrder());
                INDArray sigma = Nd4j.diag(t.sigma().reshape(rank)).castTo(type);
                INDArray residual = sigma.mmul(t.vt());
                yield new LamdaAdapter(t.u(), sigma.div(scaling), t.vt(), residual, alpha, options);
            }
        };
    }

    /** The triplets in the order B's rows freeze: as computed (largest first), or reversed. */
    private static TruncatedSvd.Result ordered(TruncatedSvd.Result t, FreezeOrder order) {
        if (order == FreezeOrder.LARGEST_FIRST) {
            return t;
        }
        int r = t.rank();
        int[] reversed = new int[r];
        for (int j = 0; j < r; j++) {
            reversed[j] = r - 1 - j;
        }
        return new TruncatedSvd.Result(
                t.u().getColumns(reversed).dup('c'),
                t.sigma().reshape(1, r).getColumns(reversed).dup('c'),
                t.vt().getRows(reversed).dup('c'));
    }

    /** Sets the PMB schedule for a training run; without one B is never frozen. */
    public void setFreezeSchedule(PmbFreezeSchedule schedule) {
        if (schedule != null && schedule.rank() != rank()) {
            throw new IllegalArgumentException(
                    "freeze schedule rank " + schedule.rank() + " != adapter rank " + rank());
        }
        this.schedule = schedule;
    }

    public PmbFreezeSchedule freezeSchedule() {
        return schedule;
    }

    /** Row j of B freezes by the {@link PmbFreezeSchedule} of the options' mode and fraction over the run. */
    @Override
    public void scheduleFreezing(long totalSteps) {
        setFreezeSchedule(new PmbFreezeSchedule(options.freeze(), rank(), totalSteps, options.freezeFraction()));
    }

    @Override
    public void onStep(long globalStep) {
        if (schedule != null) {
            b.setFrozenRows(schedule.frozenRows(globalStep));
        }
    }

    @Override
    public void onAttach(INDArray w0) {
        if (residualB != null) {
            Gemm.add(w0, a.value(), false, residualB.value(), false, -1.0);
        }
    }

    @Override
    public void onDetach(INDArray w0) {
        if (residualB != null) {
            Gemm.add(w0, a.value(), false, residualB.value(), false, 1.0);
        }
    }

    @Override
    public List<AdapterParam> params() {
        List<AdapterParam> ps = new ArrayList<>(List.of(a, s, b));
        if (residualB != null) {
            ps.add(residualB);
        }
        return ps;
    }

    @Override
    public boolean keepsInput() {
        return false; // backward reads only u = x A (and v = u S while B trains), kept r wide
    }

    @Override
    public void forward(INDArray x, INDArray y, boolean train) {
        long t = x.rows();
        INDArray u = scratch.get("u", t, rank());
        INDArray v = scratch.get("v", t, rank());
        Gemm.set(u, x, false, a.value(), false);
        Gemm.set(v, u, false, s.value(), false);
        Gemm.add(y, v, false, b.value(), false, scaling);
        keptRows = train ? t : -1;
        keptV = train && b.isTrainable();
    }

    @Override
    public void backward(INDArray dy, INDArray dx) {
        long t = dy.rows();
        if (keptRows != t) {
            throw new IllegalStateException("LaMDA backward without a matching training forward");
        }
        int r = rank();
        INDArray u = scratch.get("u", t, r);
        if (b.isTrainable()) {
            // dB[f:] += s v[:, f:]^T dy: only the rows that still train are computed.
            INDArray v = scratch.get("v", t, r);
            int f = b.frozenRows();
            INDArray vTrain = f == 0 ? v : v.get(NDArrayIndex.all(), NDArrayIndex.interval(f, r));
            Gemm.add(b.trainableRowsOf(b.grad()), vTrain, true, dy, false, scaling);
        }
        INDArray gv = scratch.get("gv", t, r);
        Gemm.into(gv, dy, false, b.value(), true, scaling, 0.0);
        Gemm.add(s.grad(), u, true, gv, false, 1.0);
        if (dx != null) {
            INDArray gu = scratch.get("gu", t, r);
            Gemm.set(gu, gv, false, s.value(), true);
            Gemm.add(dx, gu, false, a.value(), true, 1.0);
        }
        keptRows = -1;
    }

    @Override
    public INDArray scaledDeltaWeight() {
        return a.value().mmul(s.value()).mmul(b.value()).muli(scaling);
    }

    /**
     * s A S B, minus A R with svd-residual (whose attach subtracted A R from W0): A (s S B - R), of rank r, relative
     * to the original W0.
     */
    @Override
    public LoraForm.Factors loraFactors() {
        INDArray right = s.value().mmul(b.value()).muli(scaling);
        if (residualB != null) {
            right.subi(residualB.value());
        }
        return new LoraForm.Factors(a.value().dup(), right);
    }

    @Override
    public long keptBytes() {
        if (keptRows < 0) {
            return 0;
        }
        long width = a.value().dataType().width();
        return keptRows * rank() * width * (keptV ? 2 : 1);
    }
}
