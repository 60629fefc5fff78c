package org.peft4j.job.rounds;

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
 * {@link WorkerCache}), and one on the driver holding the canonical averaged state. Built the same way everywhere,
 * so the frozen adapter tensors (LaMDA's A, the SVD residual) are identical without ever being sent.
 */
public final class Worker {
    private final RunSpec spec;
    private final LoadedModel model;
    private final AdapterSet adapters;
    private final SequenceHead head;
    private final Optimizer optimizer;
    private final LocalTrainer trainer;

    public Worker(RunSpec spec) throws IOException {
        JobConfig c = spec.config();
        this.spec = spec;
        this.model = ModelLoader.load(c.model().path());
        this.adapters = AdapterInjector.inject(model.model().linears(), c.adapter());
        adapters.setTotalSteps(c.train().totalSteps());
        if (c.data().sequenceTask()) {
            head = SequenceHead.init(
                    model.model().config().hiddenSize(),
                    spec.numLabels(),
                    c.run().seed(),
                    DataType.FLOAT);
            adapters.addModuleToSave(head.param());
        } else {
            head = null;
        }
        this.optimizer = c.train().optimizer().equals("sgd")
                ? new Sgd()
                : new AdamW(0.9, 0.999, 1e-8, c.train().weightDecay());
        this.trainer = new LocalTrainer(model.model(), adapters, head, optimizer);
    }

    public RunSpec spec() {
        return spec;
    }

    public LoadedModel model() {
        return model;
    }

    public AdapterSet adapters() {
        return adapters;
    }

    public SequenceHead head() {
        return head;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    public LocalTrainer trainer() {
        return trainer;
    }
}
