package org.peft4j.datasets.prompt;

import java.io.Serializable;
import org.peft4j.datasets.record.InstructionRecord;

/**
 * Turns a record into the text the model reads. {@code prompt(r)} is the part the loss is masked on;
 * {@code prompt(r) + r.output()} then EOS is the trained sequence. Placeholders: {@code {instruction}},
 * {@code {input}}; the output is always appended after the prompt.
 *
 * <ul>
 *   <li>{@link #ALPACA} (default): the LLM-Adapters / Alpaca wording of {@code ../shared/METHODS.md} with clean
 *       line breaks.
 *   <li>{@link #LLM_ADAPTERS_VERBATIM}: byte for byte what LLM-Adapters' {@code finetune.py} feeds the model,
 *       including its 16-space indentation and the literal "  # noqa: E501" inside the first line: use it to
 *       continue or reproduce checkpoints trained by that code.
 * </ul>
 */
public record PromptTemplate(String name, String withInput, String withoutInput) implements Serializable {
    private static final String HEAD_INPUT = "Below is an instruction that describes a task, paired with an input that"
            + " provides further context. Write a response that appropriately completes the request.";
    private static final String HEAD = "Below is an instruction that describes a task. Write a response that"
            + " appropriately completes the request.";

    public static final PromptTemplate ALPACA = new PromptTemplate(
            "alpaca",
            HEAD_INPUT + "\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
            HEAD + "\n\n### Instruction:\n{instruction}\n\n### Response:\n");

    private static final String INDENT = " ".repeat(16);
    public static final PromptTemplate LLM_ADAPTERS_VERBATIM = new PromptTemplate(
            "llm-adapters-verbatim",
            HEAD_INPUT + "  # noqa: E501\n\n" + INDENT + "### Instruction:\n" + INDENT + "{instruction}\n" + INDENT
                    + "\n" + INDENT + "### Input:\n" + INDENT + "{input}\n" + INDENT + "\n" + INDENT
                    + "### Response:\n" + INDENT,
            HEAD + "  # noqa: E501\n\n" + INDENT + "### Instruction:\n" + INDENT + "{instruction}\n" + INDENT + "\n"
                    + INDENT + "### Response:\n" + INDENT);

    public PromptTemplate {
        if (!withInput.contains("{instruction}") || !withInput.contains("{input}")) {
            throw new IllegalArgumentException(
                    "template '" + name + "': the with-input form needs {instruction} and" + " {input}");
        }
        if (!withoutInput.contains("{instruction}")) {
            throw new IllegalArgumentException("template '" + name + "': the without-input form needs {instruction}");
        }
    }

    public static PromptTemplate named(String name) {
        return switch (name) {
            case "alpaca" -> ALPACA;
            case "llm-adapters-verbatim" -> LLM_ADAPTERS_VERBATIM;
            default ->
                throw new IllegalArgumentException("unknown prompt template '" + name
                        + "' (alpaca, llm-adapters-verbatim, or give with_input/without_input strings)");
        };
    }

    /** The masked part: everything before the response. */
    public String prompt(InstructionRecord r) {
        return fill(r.input().isEmpty() ? withoutInput : withInput, r.instruction(), r.input());
    }

    /** One pass over the template: text inside the record that looks like a placeholder stays as written. */
    private static String fill(String template, String instruction, String input) {
        StringBuilder sb = new StringBuilder(template.length() + instruction.length() + input.length());
        int i = 0;
        while (i < template.length()) {
            if (template.startsWith("{instruction}", i)) {
                sb.append(instruction);
                i += "{instruction}".length();
            } else if (template.startsWith("{input}", i)) {
                sb.append(input);
                i += "{input}".length();
            } else {
                sb.append(template.charAt(i++));
            }
        }
        return sb.toString();
    }

    /** Prompt and response, without EOS (the tokenizer step appends EOS as an id). */
    public String full(InstructionRecord r) {
        return prompt(r) + r.output();
    }
}
