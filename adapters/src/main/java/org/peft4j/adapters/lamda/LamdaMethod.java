package org.peft4j.adapters.lamda;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.TruncatedSvd;

/** LaMDA (METHODS.md): {@link LamdaAdapter} with {@link LamdaOptions}, initialised from W0's SVD. */
public record LamdaMethod() implements AdapterMethod {
    public static final LamdaMethod INSTANCE = new LamdaMethod();

    @Override
    public String name() {
        return "lamda";
    }

    @Override
    public OptionSet<LamdaOptions> options() {
        return LamdaOptions.SET;
    }

    @Override
    public Adapter create(TargetLinear target, int rank, AdapterSpec spec) {
        return create(target, rank, spec.alpha(), (LamdaOptions) spec.options(), spec.seed(), null);
    }

    /**
     * A LaMDA adapter for one target; {@code svd} (at least {@code rank} triplets of W0) may be given when the caller
     * already computed it (LaMDA++), else it is computed here when the init needs it.
     */
    public static LamdaAdapter create(
            TargetLinear target, int rank, double alpha, LamdaOptions o, long seed, TruncatedSvd.Result svd) {
        var rng = Init.forModule(seed, target.path());
        TruncatedSvd.Result given = svd;
        return target.withWeightForCompute(w0 -> {
            TruncatedSvd.Result s = given != null || o.init() == LamdaInit.RANDOM
                    ? given
                    : TruncatedSvd.compute(w0, rank, svdSeed(seed, target));
            return LamdaAdapter.init(w0, rank, alpha, o, s, rng);
        });
    }

    /** The seed of a target's randomized SVD. */
    public static long svdSeed(long seed, TargetLinear target) {
        return Init.svdSeed(seed, target.path());
    }

    @Override
    public Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec) {
        return blank(target, rank, alpha, (LamdaOptions) spec.options());
    }

    public static LamdaAdapter blank(TargetLinear target, int r, double alpha, LamdaOptions o) {
        var type = target.computeType();
        int dOut = target.dOut();
        INDArray residual = o.init() == LamdaInit.SVD_RESIDUAL ? Nd4j.zeros(type, r, dOut) : null;
        return new LamdaAdapter(
                Nd4j.zeros(type, target.dIn(), r),
                Nd4j.zeros(type, r, r),
                Nd4j.zeros(type, r, dOut),
                residual,
                alpha,
                o);
    }

    /** r^2 + r d_out while B trains, r^2 once it is frozen. */
    @Override
    public TargetParams paramsPerTarget(int dIn, int dOut, int rank, MethodOptions options) {
        return new TargetParams((long) rank * rank + (long) rank * dOut, (long) rank * rank, 1);
    }
}
