package org.peft4j.job.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.peft4j.adapters.io.AdapterCheckpoint;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.job.fs.Locations;
import org.peft4j.job.model.ModelLoader;

/** {@code inspect}: a checkpoint's or adapter directory's config and tensors. */
final class InspectCommand implements Command {

    @Override
    public String name() {
        return "inspect";
    }

    @Override
    public String summary() {
        return "print an adapter or checkpoint directory's config and tensor table";
    }

    @Override
    public String usage() {
        return """
                usage: deploy/peft4j inspect --dir DIR
                  DIR holds adapter_config.json and adapter_model.safetensors (a checkpoint step directory, a run's
                  final/ directory, or any saved adapter) on any file system. Prints the config, then per tensor its
                  shape, dtype and L2 norm.""";
    }

    @Override
    public int run(List<String> argv, PrintStream out) throws Exception {
        Args a = Args.parse(argv, Set.of());
        String dir = a.required("dir");
        a.finish();
        Map<String, byte[]> files = ModelLoader.readAdapterFiles(dir);
        AdapterCheckpoint.spec(files, dir);
        byte[] config = files.get(AdapterCheckpoint.CONFIG);
        byte[] tensors = files.get(AdapterCheckpoint.TENSORS);
        out.println(new ObjectMapper().readTree(config).toPrettyString());
        if (files.containsKey(AdapterCheckpoint.PEFT4J)) {
            out.println(AdapterCheckpoint.PEFT4J + ": "
                    + new ObjectMapper()
                            .readTree(files.get(AdapterCheckpoint.PEFT4J))
                            .toPrettyString());
        }
        var header = Safetensors.parseHeader(
                java.nio.ByteBuffer.wrap(tensors), tensors.length, Locations.child(dir, AdapterCheckpoint.TENSORS));
        var values = Safetensors.read(tensors, dir);
        long total = 0;
        for (Safetensors.Entry e : header.entries()) {
            double norm = values.get(e.name()).norm2Number().doubleValue();
            out.printf("%-64s %-14s %-4s %12.6g%n", e.name(), Arrays.toString(e.shape()), e.dtype(), norm);
            total += e.elements();
        }
        out.printf(
                "%d tensors, %,d values, %s%n",
                header.entries().size(),
                total,
                new String(config, StandardCharsets.UTF_8).contains("rank_pattern") ? "rank_pattern recorded" : "");
        return ExitCode.OK;
    }
}
