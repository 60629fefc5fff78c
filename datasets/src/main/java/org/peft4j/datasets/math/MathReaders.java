package org.peft4j.datasets.math;

import org.peft4j.datasets.read.BadRecords;
import org.peft4j.datasets.read.Fields;
import org.peft4j.datasets.read.JsonRecords;
import org.peft4j.datasets.record.InstructionRecord;

/** MetaMathQA (training) and GSM8K-style test files (evaluation). */
public final class MathReaders {
    private MathReaders() {}

    /**
     * MetaMathQA: {query, response, type, original_question}. The query is the instruction, the response the
     * output; the answer is the number after "The answer is" (empty if the response has none: still trainable).
     */
    public static InstructionRecord metaMath(JsonRecords.Item item) {
        String query = Fields.text(item, "query");
        String response = Fields.text(item, "response");
        Fields.text(item, "type");
        Fields.optionalText(item, "original_question", "");
        int at = response.lastIndexOf("The answer is");
        Double v = at < 0 ? null : MathAnswer.extract(response.substring(at));
        return new InstructionRecord(query, "", response, v == null ? "" : MathAnswer.format(v), item.where());
    }

    /** GSM8K: {question, answer}, the gold number after "####" (required). */
    public static InstructionRecord gsm8k(JsonRecords.Item item) {
        String question = Fields.text(item, "question");
        String answer = Fields.text(item, "answer");
        Double gold = MathAnswer.afterHashes(answer);
        if (gold == null) {
            throw new BadRecords.BadRecordException(item.where() + ": field 'answer' has no number after '####'");
        }
        return new InstructionRecord(question, "", answer, MathAnswer.format(gold), item.where());
    }
}
