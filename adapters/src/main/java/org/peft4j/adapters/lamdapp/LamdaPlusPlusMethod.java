package org.peft4j.adapters.lamdapp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.peft4j.adapters.core.Adapter;
import org.peft4j.adapters.core.AdapterMethod;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.MethodOptions;
import org.peft4j.adapters.core.OptionSet;
import org.peft4j.adapters.core.TargetLinear;
import org.peft4j.adapters.lamda.LamdaMethod;
import org.peft4j.adapters.linalg.TruncatedSvd;

/**
 * LaMDA++ (arXiv 2406.12832, section 3.3): LaMDA adapters whose per-module ranks come from W0's energy spectrum
 * under LaMDA's total budget L r ({@link EnergyRankAllocator}). Each module keeps the scaling s = alpha / r of the
 * base rank, so its alpha is alpha r_l / r.
 */
public record LamdaPlusPlusMethod() implements AdapterMethod {
    public static final LamdaPlusPlusMethod INSTANCE = new LamdaPlusPlusMethod();

    @Override
    public String name() {
        return "lamda++";
    }

    @Override
    public OptionSet<LamdaPlusPlusOptions> options() {
        return LamdaPlusPlusOptions.SET;
    }

    /** SVD each target once up to its largest allowed rank, allocate the L r budget, then initialise from the SVDs. */
    @Override
    public Map<TargetLinear, Adapter> create(List<TargetLinear> targets, AdapterSpec spec) {
        LamdaPlusPlusOptions pp = (LamdaPlusPlusOptions) spec.options();
        List<RankAllocator.ModuleSpectrum> spectra = new ArrayList<>();
        Map<String, TruncatedSvd.Result> svds = new LinkedHashMap<>();
        for (TargetLinear t : targets) {
            int maxRank = Math.min(t.dIn(), t.dOut());
            int k = Math.min(pp.rMax(), maxRank);
            TruncatedSvd.Result svd =
                    t.withWeightForCompute(w0 -> TruncatedSvd.compute(w0, k, LamdaMethod.svdSeed(spec.seed(), t)));
            svds.put(t.path(), svd);
            double total = t.withWeightForCompute(w0 -> w0.norm2Number().doubleValue());
            spectra.add(
                    new RankAllocator.ModuleSpectrum(t.path(), svd.sigma().toDoubleVector(), total * total, maxRank));
        }
        Map<String, Integer> ranks =
                new EnergyRankAllocator(pp.rMin(), pp.rMax()).allocate(spectra, spec.rank() * targets.size());
        Map<TargetLinear, Adapter> out = new LinkedHashMap<>();
        for (TargetLinear t : targets) {
            int r = ranks.get(t.path());
            out.put(t, LamdaMethod.create(t, r, alpha(spec, r), pp.lamda(), spec.seed(), svds.get(t.path())));
        }
        return out;
    }

    @Override
    public Adapter create(TargetLinear target, int rank, AdapterSpec spec) {
        LamdaPlusPlusOptions pp = (LamdaPlusPlusOptions) spec.options();
        return LamdaMethod.create(target, rank, alpha(spec, rank), pp.lamda(), spec.seed(), null);
    }

    @Override
    public Adapter blank(TargetLinear target, int rank, double alpha, AdapterSpec spec) {
        return LamdaMethod.blank(target, rank, alpha, ((LamdaPlusPlusOptions) spec.options()).lamda());
    }

    @Override
    public TargetParams paramsPerTarget(int dIn, int dOut, int rank, MethodOptions options) {
        throw new IllegalArgumentException("lamda++ allocates ranks from the singular values of the model's"
                + " weights: its parameter count needs the weights, which params does not load (use --method lamda"
                + " for the budget: LaMDA++ keeps the same total rank)");
    }

    @Override
    public double alpha(AdapterSpec spec, int r) {
        return spec.alpha() * r / spec.rank();
    }
}
