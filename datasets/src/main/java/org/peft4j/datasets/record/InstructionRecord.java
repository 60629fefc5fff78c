package org.peft4j.datasets.record;

import java.io.Serializable;

/**
 * One instruction-tuning example, the common shape every family is read into (LLM-Adapters' schema).
 *
 * @param input empty when the example has no input (the template then drops its Input section)
 * @param output the trained response (without EOS)
 * @param answer the gold label or number used by scoring (e.g. "answer3", "18"); empty when unknown
 * @param origin file and record, for messages
 */
public record InstructionRecord(String instruction, String input, String output, String answer, String origin)
        implements Serializable {}
