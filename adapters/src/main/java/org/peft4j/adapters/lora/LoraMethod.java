package org.peft4j.adapters.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.Aggregation;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.core.LoraForm;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.linalg.RandomMatrix;
import org.peft4j.adapters.linalg.TruncatedSvd;

/** LoRA, the baseline (METHODS.md): {@link LoraAdapter} with {@link LoraOptions}. */
public record LoraMethod() implements AdapterMethod {
    public static final LoraMethod INSTANCE = new LoraMethod();

    @Override
    public String name() {
        return "lora";
    }

    @Override
    public OptionSet<LoraOptions> options() {
        return LoraOptions.SET;
    }

    /**
     * kaiming (PEFT's default): A Kaiming-uniform, B zero; gaussian: A normal(0, 1/r), B zero; pissa (PEFT's
     * "pissa"): A = U_r sqrt(Sigma_r / s), B = sqrt(Sigma_r / s) V_r^T from W0's SVD, s A B taken out of W0 on
     * attach. The adapted layer equals the base layer at step 0 in every case.
     */
    @Override
    public Adapter create(TargetLinear target, int rank, AdapterSpec spec) {
        var type = target.computeType();
        var rng = Init.forModule(spec.seed(), target.path());
        LoraOptions o = (LoraOptions) spec.options();
        double alpha = spec.alpha();
        return switch (o.init()) {
            case KAIMING ->
                new LoraAdapter(
                        Init.kaimingUniform(type, target.dIn(), rank, target.dIn(), rng),
                        Nd4j.zeros(type, rank, target.dOut()),
                        alpha,
                        o);
            case GAUSSIAN ->
                new LoraAdapter(
                        RandomMatrix.gaussian(type, target.dIn(), rank, rng).muli(1.0 / rank),
                        Nd4j.zeros(type, rank, target.dOut()),
                        alpha,
                        o);
            case PISSA -> {
                TruncatedSvd.Result svd = target.withWeightForCompute(
                        w0 -> TruncatedSvd.compute(w0, rank, Init.svdSeed(spec.seed(), target.path())));
                double scaling = o.rsLora() ? alpha / Math.sqrt(rank) : alpha / rank;
                INDArray root = Transforms.sqrt(svd.sigma().div(scaling), true)
                        .reshape(1, rank)
                        .castTo(type);
                INDArray a = svd.u().mulRowVector(root);
                INDArray b = svd.vt().mulColumnVector(root.reshape(rank, 1));
                yield new LoraAdapter(a, b, alpha, o);
            }
        };
    }

    @Override
    public Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec) {
        var type = target.computeType();
        LoraOptions o = (LoraOptions) spec.options();
        return new LoraAdapter(Nd4j.zeros(type, target.dIn(), rank), Nd4j.zeros(type, rank, target.dOut()), alpha, o);
    }

    /**
     * PEFT's LoRA format is LoRA's own, except with the dense product-aggregation residual PEFT cannot hold, and for
     * PiSSA, whose base is W0 minus the initial product (export writes it as a rank-2r LoRA of the original base).
     */
    @Override
    public Optional<LoraForm> nativeLora(AdapterSet set) {
        LoraOptions o = (LoraOptions) set.spec().options();
        if (o.productAggregation() || o.init() == LoraOptions.Init.PISSA) {
            return Optional.empty(); // a dense residual, or a base that differs from the original model
        }
        List<LoraForm.Module> modules = new ArrayList<>();
        for (TargetLinear t : set.targets()) {
            LoraAdapter l = (LoraAdapter) t.adapter();
            modules.add(new LoraForm.Module(t.path(), l.a().value(), l.b().value(), l.alpha()));
        }
        return Optional.of(new LoraForm(modules, set.spec().rank(), set.spec().alpha(), o.rsLora()));
    }

    @Override
    public TargetParams paramsPerTarget(int dIn, int dOut, int rank, MethodOptions options) {
        long n = (long) rank * (dIn + dOut);
        return new TargetParams(n, n, 2);
    }

    @Override
    public Aggregation aggregation(MethodOptions options) {
        return ((LoraOptions) options).productAggregation() ? ProductAggregation.INSTANCE : Aggregation.AVERAGE;
    }
}
