package org.peft4j.datasets.commonsense;

import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.read.Fields;
import org.peft4j.datasets.read.JsonRecords;
import org.peft4j.datasets.record.InstructionRecord;

/**
 * Commonsense170K and its per-task test files (LLM-Adapters): objects {instruction, input, output, answer}.
 * {@code input} may be absent (read as empty); the others are required. {@code output} reads like
 * "the correct answer is answer3"; {@code answer} is the label.
 */
public final class CommonsenseReader {
    private CommonsenseReader() {}

    public static InstructionRecord parse(JsonRecords.Item item) {
        String answer = Fields.text(item, "answer");
        if (answer.isBlank()) {
            throw new BadRecords.BadRecordException(item.where() + ": field 'answer' is empty");
        }
        return new InstructionRecord(
                Fields.text(item, "instruction"),
                Fields.optionalText(item, "input", ""),
                Fields.text(item, "output"),
                answer,
                item.where());
    }
}
