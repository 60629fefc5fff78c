package org.peft4j.datasets.math;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Numbers out of math answers. MetaMathQA responses end "The answer is: X"; GSM8K gold answers end "#### X";
 * generated text is scored on the number after "The answer is", else its last number (LLM-Adapters / MetaMath
 * evaluation), compared numerically with tolerance 1e-4.
 */
public final class MathAnswer {
    public static final double TOLERANCE = 1e-4;
    private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?|-?\\.\\d+");
    private static final Pattern THE_ANSWER_IS = Pattern.compile("[Tt]he answer is:?\\s*\\$?\\s*(-?[\\d,]*\\.?\\d+)");

    private MathAnswer() {}

    /** The number after "The answer is", else the last number in the text; null when there is none. */
    public static Double extract(String text) {
        Matcher m = THE_ANSWER_IS.matcher(text);
        if (m.find()) {
            Double v = parse(m.group(1));
            if (v != null) {
                return v;
            }
        }
        Matcher all = NUMBER.matcher(text);
        String last = null;
        while (all.find()) {
            last = all.group();
        }
        return last == null ? null : parse(last);
    }

    /** GSM8K's gold: the number after "####"; null when the marker or number is missing. */
    public static Double afterHashes(String answer) {
        int i = answer.lastIndexOf("####");
        return i < 0 ? null : parse(answer.substring(i + 4).strip());
    }

    public static boolean correct(String generated, double gold) {
        Double v = extract(generated);
        return v != null && Math.abs(v - gold) <= TOLERANCE;
    }

    /** "1,234.5" to 1234.5; null when not a number. */
    public static Double parse(String s) {
        String t = s.replace(",", "").strip();
        if (t.endsWith(".")) {
            t = t.substring(0, t.length() - 1);
        }
        try {
            return Double.valueOf(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** A number as text without a spurious ".0": 18.0 to "18", 2.5 to "2.5". */
    public static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
    }
}
