package org.peft4j.adapters.core;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.lamda.LamdaAdapter;
import org.peft4j.adapters.lamda.LamdaInit;
import org.peft4j.adapters.lamda.LamdaOptions;
import org.peft4j.adapters.lamdapp.EnergyRankAllocator;
import org.peft4j.adapters.lamdapp.LamdaPlusPlusOptions;
import org.peft4j.adapters.lamdapp.RankAllocator;
import org.peft4j.adapters.linalg.TruncatedSvd;
import org.peft4j.adapters.lora.LoraAdapter;
import org.peft4j.adapters.lora.LoraOptions;
import org.peft4j.adapters.neat.NeatAdapter;
import org.peft4j.adapters.neat.NeatOptions;

/**
 * Puts adapters on the target layers of a model: picks layers by module name (the last path component), checks
 * ranks against each layer's shape, allocates LaMDA++ ranks, initialises and attaches. The registry of methods lives
 * in the two switches below.
 */
public final class AdapterInjector {
    private AdapterInjector() {}

    /** Fresh adapters, initialised as the spec says. */
    public static AdapterSet inject(List<TargetLinear> layers, AdapterSpec spec) {
        List<TargetLinear> targets = select(layers, spec);
        Map<String, Integer> ranks = new LinkedHashMap<>();
        Map<String, TruncatedSvd.Result> svds = new LinkedHashMap<>();
        if (spec.options() instanceof LamdaPlusPlusOptions pp) {
            allocate(targets, spec, pp, ranks, svds);
        } else {
            for (TargetLinear t : targets) {
                ranks.put(t.path(), checkRank(t, spec.rank()));
            }
        }
        for (TargetLinear t : targets) {
            int r = ranks.get(t.path());
            var rng = Init.forModule(spec.seed(), t.path());
            INDArray w0 = t.weight();
            Adapter a = switch (spec.method()) {
                case "lora" -> LoraAdapter.init(w0, r, alpha(spec, r), (LoraOptions) spec.options(), rng);
                case "lamda", "lamda++" -> {
                    LamdaOptions o = spec.lamdaOptions();
                    TruncatedSvd.Result svd = svds.get(t.path());
                    if (svd == null && o.init() != LamdaInit.RANDOM) {
                        svd = TruncatedSvd.compute(w0, r, spec.seed() ^ t.path().hashCode());
                    }
                    yield LamdaAdapter.init(w0, r, alpha(spec, r), o, svd, rng);
                }
                case "neat" -> NeatAdapter.init(w0, r, alpha(spec, r), (NeatOptions) spec.options(), rng);
                default -> throw new IllegalStateException(spec.method());
            };
            t.attach(a);
        }
        return new AdapterSet(spec, targets);
    }

    /**
     * Adapters of the right shapes with every tensor zero, not yet attached: a checkpoint fills them, then
     * {@link #attach} puts them on (LaMDA's svd-residual correction needs the loaded tensors).
     */
    public static Map<TargetLinear, Adapter> blank(
            List<TargetLinear> layers, AdapterSpec spec, Map<String, Integer> ranks) {
        Map<TargetLinear, Adapter> out = new LinkedHashMap<>();
        for (TargetLinear t : select(layers, spec)) {
            Integer r = ranks.get(t.path());
            if (r == null) {
                throw new IllegalArgumentException("rank_pattern has no rank for module " + t.path());
            }
            checkRank(t, r);
            var type = t.weight().dataType();
            int dIn = t.dIn();
            int dOut = t.dOut();
            Adapter a = switch (spec.method()) {
                case "lora" ->
                    new LoraAdapter(Nd4j.zeros(type, dIn, r), Nd4j.zeros(type, r, dOut), alpha(spec, r), (LoraOptions)
                            spec.options());
                case "lamda", "lamda++" -> {
                    LamdaOptions o = spec.lamdaOptions();
                    INDArray residual = o.init() == LamdaInit.SVD_RESIDUAL ? Nd4j.zeros(type, r, dOut) : null;
                    yield new LamdaAdapter(
                            Nd4j.zeros(type, dIn, r),
                            Nd4j.zeros(type, r, r),
                            Nd4j.zeros(type, r, dOut),
                            residual,
                            alpha(spec, r),
                            o);
                }
                case "neat" -> {
                    NeatOptions o = (NeatOptions) spec.options();
                    int n = o.orientation() == NeatOptions.Orientation.ROWS ? dOut : dIn;
                    List<INDArray> enc = new ArrayList<>();
                    List<INDArray> dec = new ArrayList<>();
                    for (int i = 0; i < (o.depth() - 2) / 2; i++) {
                        enc.add(Nd4j.zeros(type, r, r));
                        dec.add(Nd4j.zeros(type, r, r));
                    }
                    yield new NeatAdapter(
                            dIn, dOut, Nd4j.zeros(type, n, r), Nd4j.zeros(type, r, n), enc, dec, alpha(spec, r), o);
                }
                default -> throw new IllegalStateException(spec.method());
            };
            out.put(t, a);
        }
        return out;
    }

    public static AdapterSet attach(AdapterSpec spec, Map<TargetLinear, Adapter> adapters) {
        adapters.forEach(TargetLinear::attach);
        return new AdapterSet(spec, new ArrayList<>(adapters.keySet()));
    }

    /** LaMDA++: SVD each target once up to its largest allowed rank, then allocate the L * r budget. */
    private static void allocate(
            List<TargetLinear> targets,
            AdapterSpec spec,
            LamdaPlusPlusOptions pp,
            Map<String, Integer> ranks,
            Map<String, TruncatedSvd.Result> svds) {
        List<RankAllocator.ModuleSpectrum> spectra = new ArrayList<>();
        for (TargetLinear t : targets) {
            int maxRank = Math.min(t.dIn(), t.dOut());
            int k = Math.min(pp.rMax(), maxRank);
            TruncatedSvd.Result svd =
                    TruncatedSvd.compute(t.weight(), k, spec.seed() ^ t.path().hashCode());
            svds.put(t.path(), svd);
            double total = t.weight().norm2Number().doubleValue();
            spectra.add(
                    new RankAllocator.ModuleSpectrum(t.path(), svd.sigma().toDoubleVector(), total * total, maxRank));
        }
        ranks.putAll(new EnergyRankAllocator(pp.rMin(), pp.rMax()).allocate(spectra, spec.rank() * targets.size()));
    }

    private static double alpha(AdapterSpec spec, int r) {
        // LaMDA++ keeps the scaling s = alpha / r of the base rank for every module.
        return spec.method().equals("lamda++") ? spec.alpha() * r / spec.rank() : spec.alpha();
    }

    private static List<TargetLinear> select(List<TargetLinear> layers, AdapterSpec spec) {
        List<TargetLinear> out = new ArrayList<>();
        for (TargetLinear t : layers) {
            String name = t.path().substring(t.path().lastIndexOf('.') + 1);
            if (spec.targets().contains(name)) {
                out.add(t);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("targets " + spec.targets() + " match no layer of the model");
        }
        return out;
    }

    private static int checkRank(TargetLinear t, int r) {
        int max = Math.min(t.dIn(), t.dOut());
        if (r > max) {
            throw new IllegalArgumentException("module " + t.path() + ": rank must be <= min(d_in, d_out) = " + max
                    + " (d_in " + t.dIn() + ", d_out " + t.dOut() + "), found " + r);
        }
        return r;
    }
}
