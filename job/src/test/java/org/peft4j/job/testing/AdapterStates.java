package org.peft4j.job.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.peft4j.job.state.AdapterState;

/** The one "same adapters, bit for bit" assertion the job and end-to-end tests share. */
public final class AdapterStates {
    private AdapterStates() {}

    /** Same tensor and moment names, every value the same float bits, and the same optimizer step count. */
    public static void assertBitEqual(AdapterState expected, AdapterState actual) {
        assertBitEqual("tensor", expected.tensors(), actual.tensors());
        assertBitEqual("moment", expected.moments(), actual.moments());
        assertEquals(expected.optimizerSteps(), actual.optimizerSteps(), "optimizer steps");
    }

    private static void assertBitEqual(String what, Map<String, INDArray> expected, Map<String, INDArray> actual) {
        assertEquals(expected.keySet(), actual.keySet(), what + " names");
        expected.forEach((k, v) -> assertArrayEquals(
                v.dup().data().asFloat(), actual.get(k).dup().data().asFloat(), what + " " + k));
    }
}
