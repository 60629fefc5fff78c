package org.peft4j.adapters.neat;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;
import org.peft4j.adapters.core.TargetLinear;

/** Neat (METHODS.md): {@link NeatAdapter} with {@link NeatOptions}. */
public record NeatMethod() implements AdapterMethod {
    public static final NeatMethod INSTANCE = new NeatMethod();

    @Override
    public String name() {
        return "neat";
    }

    @Override
    public OptionSet<NeatOptions> options() {
        return NeatOptions.SET;
    }

    /** T1 and the hidden layers Kaiming-uniform, T2 zero: dW = 0 at step 0. */
    @Override
    public Adapter create(TargetLinear target, int rank, AdapterSpec spec) {
        NeatOptions o = (NeatOptions) spec.options();
        var type = target.computeType();
        var rng = Init.forModule(spec.seed(), target.path());
        int n = o.rowLength(target.dIn(), target.dOut());
        INDArray t1 = Init.kaimingUniform(type, n, rank, n, rng);
        List<INDArray> enc = new ArrayList<>();
        List<INDArray> dec = new ArrayList<>();
        for (int i = 0; i < (o.depth() - 2) / 2; i++) {
            enc.add(Init.kaimingUniform(type, rank, rank, rank, rng));
        }
        for (int i = 0; i < (o.depth() - 2) / 2; i++) {
            dec.add(Init.kaimingUniform(type, rank, rank, rank, rng));
        }
        return new NeatAdapter(target.dIn(), target.dOut(), t1, Nd4j.zeros(type, rank, n), enc, dec, spec.alpha(), o);
    }

    @Override
    public Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec) {
        NeatOptions o = (NeatOptions) spec.options();
        var type = target.computeType();
        int n = o.rowLength(target.dIn(), target.dOut());
        List<INDArray> enc = new ArrayList<>();
        List<INDArray> dec = new ArrayList<>();
        for (int i = 0; i < (o.depth() - 2) / 2; i++) {
            enc.add(Nd4j.zeros(type, rank, rank));
            dec.add(Nd4j.zeros(type, rank, rank));
        }
        return new NeatAdapter(
                target.dIn(), target.dOut(), Nd4j.zeros(type, n, rank), Nd4j.zeros(type, rank, n), enc, dec, alpha, o);
    }

    /** 2 r n (+ (D-2) r^2), n the MLP's row length. */
    @Override
    public TargetParams paramsPerTarget(int dIn, int dOut, int rank, MethodOptions options) {
        NeatOptions o = (NeatOptions) options;
        long n = 2L * rank * o.rowLength(dIn, dOut) + (long) (o.depth() - 2) * rank * rank;
        return new TargetParams(n, n, 2 + 2 * ((o.depth() - 2) / 2)); // t1, t2, the hidden encoders and decoders
    }
}
