package org.peft4j.datasets.glue;

import java.io.Serializable;

/**
 * One labelled GLUE example.
 *
 * @param pair the second sentence, or null for single-sentence tasks
 * @param target the class index (in {@link GlueTask#labels()} order) or, for STS-B, the similarity score
 * @param label the label as text: the class name, or the score as written
 */
public record GlueRecord(GlueTask task, String text, String pair, double target, String label, String origin)
        implements Serializable {}
