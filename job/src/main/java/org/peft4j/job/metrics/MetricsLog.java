package org.peft4j.job.metrics;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.fs.Locations;

/**
 * Metrics as JSON lines in {@code <output>/metrics.jsonl}, one object per round (and per evaluation). The whole
 * file is rewritten through a temporary name after each line, so it is complete on every file system, S3 included
 * (which cannot append); lines from before a resume are kept.
 */
public final class MetricsLog {
    public static final String FILE = RunLayout.METRICS;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String dir;
    private final ByteArrayOutputStream lines = new ByteArrayOutputStream();

    public MetricsLog(String dir, boolean resume) throws IOException {
        this.dir = dir;
        if (resume && Locations.exists(dir, FILE)) {
            lines.write(Locations.read(Locations.child(dir, FILE)));
        }
    }

    public void append(Map<String, Object> record) throws IOException {
        lines.write(JSON.writeValueAsString(record).getBytes(StandardCharsets.UTF_8));
        lines.write('\n');
        byte[] all = lines.toByteArray();
        Locations.write(dir, FILE, o -> o.write(all));
    }
}
