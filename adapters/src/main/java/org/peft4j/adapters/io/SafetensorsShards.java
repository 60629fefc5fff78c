package org.peft4j.adapters.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A model's tensors split into safetensors shards the way transformers' {@code save_pretrained} splits them: in order,
 * a new shard whenever the next tensor would pass {@code max_shard_size}; one file {@code model.safetensors} when
 * everything fits, else {@code model-00001-of-0000N.safetensors} ... with {@code model.safetensors.index.json}
 * ({@code metadata.total_size} and the {@code weight_map}).
 */
public final class SafetensorsShards {
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]I?B|B)?", Pattern.CASE_INSENSITIVE);

    private SafetensorsShards() {}

    /** The shards: file name to the tensors it holds, in order. */
    public static Map<String, Map<String, INDArray>> plan(Map<String, INDArray> tensors, String dtype, long maxBytes) {
        List<Map<String, INDArray>> shards = new ArrayList<>();
        Map<String, INDArray> current = new LinkedHashMap<>();
        long size = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            long bytes = e.getValue().length() * width(dtype);
            if (!current.isEmpty() && size + bytes > maxBytes) {
                shards.add(current);
                current = new LinkedHashMap<>();
                size = 0;
            }
            current.put(e.getKey(), e.getValue());
            size += bytes;
        }
        shards.add(current);
        Map<String, Map<String, INDArray>> out = new LinkedHashMap<>();
        if (shards.size() == 1) {
            out.put(SINGLE, shards.get(0));
            return out;
        }
        for (int i = 0; i < shards.size(); i++) {
            out.put(String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size()), shards.get(i));
        }
        return out;
    }

    /** {@code model.safetensors.index.json} for a plan of several shards. */
    public static byte[] index(Map<String, Map<String, INDArray>> plan, String dtype) {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        long total = 0;
        Map<String, String> weightMap = new TreeMap<>();
        for (Map.Entry<String, Map<String, INDArray>> shard : plan.entrySet()) {
            for (Map.Entry<String, INDArray> t : shard.getValue().entrySet()) {
                total += t.getValue().length() * width(dtype);
                weightMap.put(t.getKey(), shard.getKey());
            }
        }
        root.putObject("metadata").put("total_size", total);
        root.putPOJO("weight_map", weightMap);
        try {
            return json.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** transformers' size strings: "5GB" (10^9), "500MB", "40KB", "2GiB" (2^30), or plain bytes. */
    public static long parseSize(String s) {
        Matcher m = SIZE.matcher(s.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("max shard size: expected e.g. 5GB, 500MB or 2GiB, found '" + s + "'");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        boolean binary = unit.contains("I");
        long base = binary ? 1024 : 1000;
        int power = "BKMGT".indexOf(unit.charAt(0));
        for (int i = 0; i < power; i++) {
            n *= base;
        }
        return n;
    }

    private static long width(String dtype) {
        return dtype.equals("F32") ? 4 : 2;
    }
}
