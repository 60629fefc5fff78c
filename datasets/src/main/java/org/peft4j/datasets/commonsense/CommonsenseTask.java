package org.peft4j.datasets.commonsense;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The eight commonsense test sets of LLM-Adapters and the label words their answers are drawn from. Scoring takes
 * the first occurrence of any label word in the generated text (after trimming) and compares it exactly with the
 * record's {@code answer}, as LLM-Adapters' {@code commonsense_evaluate.py} does.
 */
public enum CommonsenseTask {
    BOOLQ("boolq", List.of("true", "false")),
    PIQA("piqa", List.of("solution1", "solution2")),
    SIQA("social_i_qa", List.of("answer1", "answer2", "answer3", "answer4", "answer5")),
    HELLASWAG("hellaswag", List.of("ending1", "ending2", "ending3", "ending4")),
    WINOGRANDE("winogrande", List.of("option1", "option2")),
    ARC_E("ARC-Easy", List.of("answer1", "answer2", "answer3", "answer4", "answer5")),
    ARC_C("ARC-Challenge", List.of("answer1", "answer2", "answer3", "answer4", "answer5")),
    OBQA("openbookqa", List.of("answer1", "answer2", "answer3", "answer4", "answer5"));

    private final String dirName;
    private final List<String> labels;
    private final Pattern pattern;

    CommonsenseTask(String dirName, List<String> labels) {
        this.dirName = dirName;
        this.labels = labels;
        this.pattern = Pattern.compile(String.join("|", labels));
    }

    /** The dataset folder name in LLM-Adapters ({@code dataset/<name>/test.json}). */
    public String dirName() {
        return dirName;
    }

    public List<String> labels() {
        return labels;
    }

    /** The first label word in the generated text, or "" when there is none. */
    public String extract(String generated) {
        Matcher m = pattern.matcher(generated.strip());
        return m.find() ? m.group() : "";
    }

    public boolean correct(String generated, String answer) {
        return extract(generated).equals(answer);
    }

    /** By enum name (boolq, arc_e, ...) or LLM-Adapters folder name (ARC-Easy, social_i_qa, ...). */
    public static CommonsenseTask parse(String s) {
        for (CommonsenseTask t : values()) {
            if (t.name().equalsIgnoreCase(s.replace('-', '_')) || t.dirName.equalsIgnoreCase(s)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown commonsense task '" + s + "' (one of "
                + java.util.Arrays.stream(values())
                        .map(v -> v.name().toLowerCase(Locale.ROOT))
                        .toList() + ")");
    }
}
