package org.peft4j.adapters.lora;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.nd4j.linalg.factory.Nd4j;
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

    /** A Kaiming-uniform, B zero: the adapted layer equals the base layer at step 0. */
    @Override
    public Adapter create(TargetLinear target, int rank, AdapterSpec spec) {
        var type = target.weight().dataType();
        var rng = Init.forModule(spec.seed(), target.path());
        return new LoraAdapter(
                Init.kaimingUniform(type, target.dIn(), rank, target.dIn(), rng),
                Nd4j.zeros(type, rank, target.dOut()),
                spec.alpha(),
                (LoraOptions) spec.options());
    }

    @Override
    public Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec) {
        var type = target.weight().dataType();
        LoraOptions o = (LoraOptions) spec.options();
        return new LoraAdapter(Nd4j.zeros(type, target.dIn(), rank), Nd4j.zeros(type, rank, target.dOut()), alpha, o);
    }

    /** PEFT's LoRA format is LoRA's own, except with the dense product-aggregation residual PEFT cannot hold. */
    @Override
    public Optional<LoraForm> nativeLora(AdapterSet set) {
        LoraOptions o = (LoraOptions) set.spec().options();
        if (o.productAggregation()) {
            return Optional.empty();
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
        return new TargetParams(n, n);
    }

    @Override
    public Aggregation aggregation(MethodOptions options) {
        return ((LoraOptions) options).productAggregation() ? ProductAggregation.INSTANCE : Aggregation.AVERAGE;
    }
}
