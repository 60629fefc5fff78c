package org.peft4j.adapters.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
 * {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}}, then the raw little-endian data.
 *
 * <p>Reading validates everything before it allocates a tensor: header size against the file, JSON shape, dtype,
 * that each tensor's byte span equals its shape times its dtype width, and that spans lie inside the data and do
 * not overlap. Every error names the source and the tensor. F16 and BF16 become F32; F32 and F64 stay as they are.
 */
public final class Safetensors {
    /** Headers above this are refused as corrupt (HF caps them at 100 MB). */
    public static final long MAX_HEADER = 100L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    private Safetensors() {}

    /** One tensor's header entry. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** A parsed and validated header: entries in file order, metadata, and where the data starts. */
    public record Header(List<Entry> entries, Map<String, String> metadata, long dataStart) {}

    public static byte[] write(Map<String, INDArray> tensors, Map<String, String> metadata) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try {
            write(tensors, metadata, out);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e); // in-memory stream
        }
        return out.toByteArray();
    }

    /**
     * Streams a safetensors file: the header, then one tensor at a time, so that writing a whole model needs one
     * tensor's bytes of extra memory, not the file's. Tensors keep their own dtype (F32 or F64).
     */
    public static void write(Map<String, INDArray> tensors, Map<String, String> metadata, java.io.OutputStream out)
            throws java.io.IOException {
        write(tensors, metadata, out, null);
    }

    /**
     * As {@link #write(Map, Map, java.io.OutputStream)}, every float tensor stored as {@code dtype}: "F32", "BF16"
     * or "F16" (rounded to nearest even, as torch's {@code .to(dtype)} does); null keeps each tensor's own.
     */
    public static void write(
            Map<String, INDArray> tensors, Map<String, String> metadata, java.io.OutputStream out, String dtype)
            throws java.io.IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            new java.util.TreeMap<>(metadata).forEach(meta::put); // sorted: the same tensors give the same bytes
        }
        long offset = 0;
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            INDArray t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            String d = dtype == null ? dtypeName(t.dataType(), e.getKey()) : dtype;
            n.put("dtype", d);
            var shape = n.putArray("shape");
            for (long dim : t.shape()) {
                shape.add(dim);
            }
            long bytes = t.length() * width(d, e.getKey());
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8; // HF pads the header with spaces to 8-byte alignment
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded);
        head.put(json);
        for (int i = json.length; i < padded; i++) {
            head.put((byte) ' ');
        }
        out.write(head.array());
        for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
            INDArray c = e.getValue().dup('c');
            String d = dtype == null ? dtypeName(c.dataType(), e.getKey()) : dtype;
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(c.length() * width(d, e.getKey())))
                    .order(ByteOrder.LITTLE_ENDIAN);
            switch (d) {
                case "F64" -> b.asDoubleBuffer().put(c.data().asDouble());
                case "F32" -> b.asFloatBuffer().put(c.data().asFloat());
                case "BF16" -> {
                    for (float v : c.data().asFloat()) {
                        b.putShort(floatToBf16(v));
                    }
                }
                case "F16" -> {
                    for (float v : c.data().asFloat()) {
                        b.putShort(floatToHalf(v));
                    }
                }
                default -> throw new IllegalArgumentException("tensor '" + e.getKey() + "': cannot write " + d);
            }
            out.write(b.array());
        }
    }

    /** float to bfloat16, rounded to nearest even (NaN stays NaN). */
    public static short floatToBf16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** float to IEEE 754 binary16, rounded to nearest even, overflow to infinity, subnormals kept. */
    public static short floatToHalf(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1f) {
            return (short) (sign | 0x7c00);
        }
        if (e <= 0) {
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = m >>> shift;
            int rest = m & ((1 << shift) - 1);
            int mid = 1 << (shift - 1);
            if (rest > mid || (rest == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >>> 13);
        int rest = mant & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++; // may carry into the exponent, which is the right rounding (up to infinity)
        }
        return (short) (sign | half);
    }

    public static Map<String, INDArray> read(byte[] file, String source) {
        Header h = parseHeader(ByteBuffer.wrap(file), file.length, source);
        Map<String, INDArray> out = new LinkedHashMap<>();
        ByteBuffer data = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : h.entries()) {
            data.limit(Math.toIntExact(h.dataStart() + e.end())).position(Math.toIntExact(h.dataStart() + e.begin()));
            out.put(e.name(), toArray(e, data.slice().order(ByteOrder.LITTLE_ENDIAN)));
        }
        return out;
    }

    /**
     * Parses and validates the header. {@code start} holds at least the first 8 + N bytes of the file (more is
     * fine); {@code fileSize} is the whole file's size.
     */
    public static Header parseHeader(ByteBuffer start, long fileSize, String source) {
        if (fileSize < 8) {
            throw new IllegalArgumentException(
                    source + ": not a safetensors file: " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        long n = start.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        if (n < 2 || n > MAX_HEADER || n > fileSize - 8) {
            throw new IllegalArgumentException(source + ": corrupt safetensors header length " + n + " (file has "
                    + fileSize + " bytes; expected 2.." + Math.min(MAX_HEADER, fileSize - 8) + ")");
        }
        byte[] json = new byte[(int) n];
        start.duplicate().position(8).get(json);
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": safetensors header is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": safetensors header is not a JSON object");
        }
        long dataSize = fileSize - 8 - n;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                f.getValue()
                        .fields()
                        .forEachRemaining(
                                m -> metadata.put(m.getKey(), m.getValue().asText()));
                continue;
            }
            entries.add(entry(f.getKey(), f.getValue(), dataSize, source));
        }
        entries.sort((a, b) -> Long.compare(a.begin(), b.begin()));
        long covered = 0;
        for (Entry e : entries) {
            if (e.begin() < covered) {
                throw new IllegalArgumentException(source + ": tensor '" + e.name() + "' overlaps the tensor before it"
                        + " (begins at " + e.begin() + ", previous ends at " + covered + ")");
            }
            covered = e.end();
        }
        return new Header(entries, metadata, 8 + n);
    }

    private static Entry entry(String name, JsonNode node, long dataSize, String source) {
        String where = source + ": tensor '" + name + "'";
        JsonNode dtype = node.get("dtype");
        JsonNode shape = node.get("shape");
        JsonNode offsets = node.get("data_offsets");
        if (dtype == null
                || shape == null
                || offsets == null
                || !shape.isArray()
                || !offsets.isArray()
                || offsets.size() != 2) {
            throw new IllegalArgumentException(where + ": header entry needs dtype, shape and two data_offsets");
        }
        int width = width(dtype.asText(), where);
        long[] dims = new long[shape.size()];
        long elements = 1;
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shape.get(i).asLong(-1);
            if (dims[i] < 0) {
                throw new IllegalArgumentException(where + ": negative or non-integer dimension in shape " + shape);
            }
            elements = Math.multiplyExact(elements, dims[i]);
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataSize) {
            throw new IllegalArgumentException(where + ": data_offsets [" + begin + ", " + end
                    + "] outside the data section of " + dataSize + " bytes (file truncated?)");
        }
        if (end - begin != elements * width) {
            throw new IllegalArgumentException(where + ": shape " + shape + " of " + dtype.asText() + " needs "
                    + elements * width + " bytes, data_offsets span " + (end - begin));
        }
        return new Entry(name, dtype.asText(), dims, begin, end);
    }

    private static int width(String dtype, String where) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default ->
                throw new IllegalArgumentException(
                        where + ": unsupported dtype " + dtype + " (expected F32, F16, BF16, F64 or I64)");
        };
    }

    private static String dtypeName(DataType t, String name) {
        return switch (t) {
            case DOUBLE -> "F64";
            case FLOAT -> "F32";
            default -> throw new IllegalArgumentException("tensor '" + name + "': cannot write dtype " + t);
        };
    }

    /** Converts one tensor's little-endian bytes to an array (F16/BF16 widened to F32). */
    public static INDArray toArray(Entry e, ByteBuffer bytes) {
        int n = Math.toIntExact(e.elements());
        long[] shape = e.shape().length == 0 ? new long[] {1} : e.shape();
        switch (e.dtype()) {
            case "F64" -> {
                double[] v = new double[n];
                bytes.asDoubleBuffer().get(v);
                return Nd4j.create(v, shape, DataType.DOUBLE);
            }
            case "I64" -> {
                long[] v = new long[n];
                bytes.asLongBuffer().get(v);
                return Nd4j.createFromArray(v).reshape(shape);
            }
            case "F32" -> {
                float[] v = new float[n];
                bytes.asFloatBuffer().get(v);
                return Nd4j.create(v, shape, 'c');
            }
            case "BF16" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = Float.intBitsToFloat((bytes.getShort(2 * i) & 0xffff) << 16);
                }
                return Nd4j.create(v, shape, 'c');
            }
            case "F16" -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = halfToFloat(bytes.getShort(2 * i));
                }
                return Nd4j.create(v, shape, 'c');
            }
            default -> throw new IllegalArgumentException("unsupported dtype " + e.dtype());
        }
    }

    /** IEEE 754 binary16 to float, subnormals and specials included. */
    public static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant * 0x1p-24f;
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
