package org.peft4j.job.worker;

import java.io.IOException;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.model.llama.SequenceHead;
import org.peft4j.adapters.optim.AdamW;
import org.peft4j.adapters.optim.Optimizer;
import org.peft4j.adapters.optim.Sgd;
import org.peft4j.adapters.train.LocalTrainer;
import org.peft4j.job.config.JobConfig;
import org.peft4j.job.model.LoadedModel;
import org.peft4j.job.model.ModelLoader;

/**
 * A base model with this run's adapters, optimizer and trainer: one per executor task slot (kept across rounds by
 * {@link WorkerCache}). Built the same way everywhere, so the frozen adapter tensors (LaMDA's A, the SVD residual)
 * are identical without ever being sent; the driver holds the averaged state in {@link DriverAdapters}, without
 * the base model.
 */
public record Worker(
        RunSpec spec,
        LoadedModel model,
        AdapterSet adapters,
        SequenceHead head,
        Optimizer optimizer,
        LocalTrainer trainer,
        RoundSync sync) {

    /** The run's optimizer, fresh. */
    public static Optimizer optimizer(JobConfig c) {
        return switch (c.train().optimizer()) {
            case SGD -> new Sgd();
            case ADAMW ->
                new AdamW(
                        c.train().adamBeta1(),
                        c.train().adamBeta2(),
                        c.train().adamEps(),
                        c.train().weightDecay());
        };
    }

    /** Loads the base model, injects the run's adapters (and sequence head) and builds optimizer and trainer. */
    public static Worker build(RunSpec spec) throws IOException {
        JobConfig c = spec.config();
        LoadedModel model = ModelLoader.load(c.model().path(), c.model().dtype());
        AdapterSet adapters;
        try {
            adapters = AdapterInjector.inject(model.model().linears(), c.adapter());
        } catch (IllegalArgumentException e) {
            throw e.getMessage().startsWith("layers:")
                    ? new IllegalArgumentException("peft4j.adapter." + e.getMessage(), e)
                    : e;
        }
        if (c.model().adapter() != null) {
            ModelLoader.loadAdapterValues(c.model().adapter(), adapters);
        }
        if (c.train().rounds() != null) { // with epochs the rounds come from the data: each round sets them
            adapters.setTotalSteps(c.train().totalSteps());
        }
        SequenceHead head = null;
        if (c.data().sequenceTask()) {
            head = SequenceHead.init(
                    model.model().config().hiddenSize(),
                    spec.numLabels(),
                    c.run().seed(),
                    DataType.FLOAT);
            adapters.addModuleToSave(head.param());
        }
        Optimizer optimizer = optimizer(c);
        return new Worker(
                spec,
                model,
                adapters,
                head,
                optimizer,
                new LocalTrainer(
                        model.model(), adapters, head, optimizer, c.train().maxGradNorm()),
                new RoundSync());
    }
}
