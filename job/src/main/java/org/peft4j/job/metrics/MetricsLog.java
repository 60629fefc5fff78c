package org.peft4j.job.metrics;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.peft4j.job.checkpoint.RunLayout;
import org.peft4j.job.fs.Locations;

/**
 * Metrics as JSON lines in {@code <output>/metrics.jsonl}, one object per round (and per evaluation). The whole
 * file is rewritten through a temporary name after each line, so it is complete on every file system, S3 included
 * (which cannot append); lines from before a resume are kept. {@link #writeChart} draws them to
 * {@code metrics.png}.
 */
public final class MetricsLog {
    public static final String FILE = RunLayout.METRICS;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String dir;
    private final ByteArrayOutputStream lines = new ByteArrayOutputStream();
    private final List<Map<String, Object>> records = new ArrayList<>();

    public MetricsLog(String dir, boolean resume) throws IOException {
        this.dir = dir;
        if (resume && Locations.exists(dir, FILE)) {
            byte[] old = Locations.read(Locations.child(dir, FILE));
            lines.write(old);
            records.addAll(parse(old, Locations.child(dir, FILE)));
        }
    }

    public void append(Map<String, Object> record) throws IOException {
        lines.write(JSON.writeValueAsString(record).getBytes(StandardCharsets.UTF_8));
        lines.write('\n');
        records.add(record);
        byte[] all = lines.toByteArray();
        Locations.write(dir, FILE, o -> o.write(all));
    }

    /** Writes {@code metrics.png}: loss, learning rate and evaluation metrics of every record so far. */
    public void writeChart(String title) throws IOException {
        byte[] png = MetricsChart.run(title, records, 1000, 900);
        Locations.write(dir, RunLayout.METRICS_PNG, o -> o.write(png));
    }

    /** The records of a {@code metrics.jsonl} file's bytes; a malformed line is named by file and line. */
    public static List<Map<String, Object>> parse(byte[] jsonl, String source) {
        List<Map<String, Object>> out = new ArrayList<>();
        String[] ls = new String(jsonl, StandardCharsets.UTF_8).split("\n");
        for (int i = 0; i < ls.length; i++) {
            if (ls[i].isBlank()) {
                continue;
            }
            try {
                out.add(JSON.readValue(ls[i], new TypeReference<Map<String, Object>>() {}));
            } catch (IOException e) {
                throw new IllegalArgumentException(
                        source + ":" + (i + 1) + ": not a JSON object ("
                                + e.getMessage().lines().findFirst().orElse("") + ")",
                        e);
            }
        }
        return out;
    }
}
