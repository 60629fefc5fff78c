package org.peft4j.job.worker;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.peft4j.adapters.core.AdapterInjector;
import org.peft4j.adapters.core.AdapterSet;
import org.peft4j.adapters.model.llama.LlamaConfig;
import org.peft4j.adapters.model.llama.LlamaModel;
import org.peft4j.adapters.model.llama.SequenceHead;
import org.peft4j.adapters.optim.Optimizer;
import org.peft4j.job.state.StateSlice;

/**
 * The driver's copy of a run's adapters and optimizer, without the base model: blank adapters of the right shapes on
 * weightless layers ({@link LlamaModel#shapeOnlyLinears}), filled with the initial adapters an executor built where
 * the weights are (SVD and LaMDA++ spectra need them). It holds what checkpoints and the final adapter are written
 * from, and the averaged state each round starts from; its memory grows with the adapters, not with the model.
 */
public record DriverAdapters(LlamaConfig config, AdapterSet adapters, Optimizer optimizer) {

    /**
     * What an executor's freshly built worker holds: every adapter tensor's name in {@link AdapterSet#params()}
     * order, each module's rank (LaMDA++ allocates them from the weights), and every tensor's values.
     */
    public record Initial(List<String> names, Map<String, Integer> ranks, StateSlice values) implements Serializable {
        public static Initial of(Worker w) {
            AdapterSet set = w.adapters();
            return new Initial(
                    new ArrayList<>(set.params().keySet()),
                    set.ranks(),
                    StateSlice.of(set, w.optimizer(), new int[set.params().size()], false));
        }
    }

    /** Blank adapters for {@code config}'s layers as {@code spec} says, filled with {@code init}. */
    public static DriverAdapters of(RunSpec spec, LlamaConfig config, Initial init) {
        var c = spec.config();
        AdapterSet set = AdapterInjector.attach(
                c.adapter(),
                AdapterInjector.blank(LlamaModel.shapeOnlyLinears(config), c.adapter(), init.ranks(), Map.of()));
        if (c.data().sequenceTask()) {
            set.addModuleToSave(SequenceHead.init(
                            config.hiddenSize(), spec.numLabels(), c.run().seed(), DataType.FLOAT)
                    .param());
        }
        List<String> names = new ArrayList<>(set.params().keySet());
        if (!names.equals(init.names())) {
            throw new IllegalStateException(
                    "the driver's adapters " + names + " differ from the executors' " + init.names());
        }
        Optimizer optimizer = Worker.optimizer(c);
        init.values().applyTo(set, optimizer);
        return new DriverAdapters(config, set, optimizer);
    }
}
