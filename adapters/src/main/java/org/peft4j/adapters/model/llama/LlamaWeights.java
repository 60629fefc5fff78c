package org.peft4j.adapters.model.llama;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.peft4j.adapters.core.AdapterSpec;
import org.peft4j.adapters.core.Init;
import org.peft4j.adapters.io.ModelFiles;
import org.peft4j.adapters.io.Safetensors;
import org.peft4j.adapters.linalg.AlignedArrays;
import org.peft4j.adapters.linalg.Bf16;
import org.peft4j.adapters.linalg.RandomMatrix;

/**
 * The frozen weights of a LLaMA-family model, read from a Hugging Face directory ({@code config.json} plus
 * {@code model.safetensors} or a sharded {@code model.safetensors.index.json}) or made from a seed.
 *
 * <p>Linear weights are kept as W (d_in x d_out), the transpose of HF's {@code nn.Linear.weight}, so that every layer
 * computes {@code y = x W}. The embedding and an untied LM head stay (vocab x hidden) as in HF: the head's GEMM runs
 * with B transposed, which OpenBLAS did faster than the untransposed product at this shape.
 *
 * @param embed (vocab x hidden)
 * @param lmHead (vocab x hidden), or null when the head is tied to the embedding
 */
public record LlamaWeights(
        LlamaConfig config, INDArray embed, List<Layer> layers, INDArray finalNorm, INDArray lmHead) {
    public static final String CONFIG = "config.json";
    public static final String SINGLE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    /** One decoder layer: its two RMSNorm gains (1 x hidden) and the seven linears by module name. */
    public record Layer(
            INDArray inputNorm,
            INDArray postAttentionNorm,
            Map<String, INDArray> linears,
            Map<String, INDArray> biases) {}

    public LlamaWeights {
        layers = List.copyOf(layers);
    }

    /** How the embedding, the linears and the head are stored: FLOAT, DOUBLE (tests) or BFLOAT16. */
    public DataType dataType() {
        return embed.dataType();
    }

    /** The type of activations and everything trained: the storage type, or FLOAT for bf16 storage. */
    public DataType computeType() {
        return dataType() == DataType.BFLOAT16 ? DataType.FLOAT : dataType();
    }

    /** HF tensor name of a linear's weight, e.g. {@code model.layers.3.self_attn.q_proj}. */
    public static String modulePath(int layer, String module) {
        String block = module.endsWith("_proj")
                        && (module.startsWith("q")
                                || module.startsWith("k")
                                || module.startsWith("v")
                                || module.startsWith("o"))
                ? "self_attn"
                : "mlp";
        return "model.layers." + layer + "." + block + "." + module;
    }

    /**
     * Weights drawn from a seed as HF initialises them (normal, std 0.02; norm gains 1): the built-in tiny model and
     * the synthetic benchmark use this.
     */
    private static final java.util.concurrent.atomic.AtomicLong BUILT = new java.util.concurrent.atomic.AtomicLong();

    /** Base models loaded or drawn in this JVM so far: the Spark driver's must stay at zero (tests). */
    public static long built() {
        return BUILT.get();
    }

    public static LlamaWeights random(LlamaConfig c, long seed, DataType type) {
        return random(c, seed, type, false);
    }

    /**
     * @param fanIn false: HF's normal(0, 0.02) everywhere (the benchmark's synthetic model); true: std 1/sqrt(d_in)
     *     for linears and the head, 1 for the embedding, so that a random model's logits are of order one and
     *     adapters can move them in a few hundred steps (the built-in model)
     */
    public static LlamaWeights random(LlamaConfig c, long seed, DataType type, boolean fanIn) {
        BUILT.incrementAndGet();
        double std = 0.02;
        // bf16: drawn in fp32, then rounded to nearest even; the norm gains stay fp32.
        DataType draw = type == DataType.BFLOAT16 ? DataType.FLOAT : type;
        INDArray embed = stored(
                RandomMatrix.gaussian(draw, c.vocabSize(), c.hiddenSize(), Init.forModule(seed, "embed"))
                        .muli(fanIn ? 1.0 : std),
                type);
        // Layers drawn in parallel: each module's values come from its own seeded generator, so the result is
        // the same whatever the order (a 7B model's 6.5e9 normals took ~8 minutes on one thread).
        List<Layer> layers = java.util.stream.IntStream.range(0, c.numHiddenLayers())
                .parallel()
                .mapToObj(l -> {
                    Map<String, INDArray> lin = new LinkedHashMap<>();
                    for (String m : AdapterSpec.MODULES) {
                        int[] s = c.moduleShape(m);
                        SplittableRandom rng = Init.forModule(seed, modulePath(l, m));
                        INDArray w =
                                RandomMatrix.gaussian(draw, s[0], s[1], rng).muli(fanIn ? 1.0 / Math.sqrt(s[0]) : std);
                        lin.put(m, stored(w, type));
                    }
                    return new Layer(
                            Nd4j.ones(draw, 1, c.hiddenSize()), Nd4j.ones(draw, 1, c.hiddenSize()), lin, Map.of());
                })
                .toList();
        INDArray head = c.tieWordEmbeddings()
                ? null
                : stored(
                        RandomMatrix.gaussian(draw, c.vocabSize(), c.hiddenSize(), Init.forModule(seed, "lm_head"))
                                .muli(fanIn ? 1.0 / Math.sqrt(c.hiddenSize()) : std),
                        type);
        return new LlamaWeights(c, embed, layers, Nd4j.ones(draw, 1, c.hiddenSize()), head);
    }

    /**
     * x as stored: a 64-byte aligned copy ({@link AlignedArrays}), rounded to bf16 for a bf16 model; the draw is
     * released at once.
     */
    private static INDArray stored(INDArray x, DataType type) {
        INDArray b = type == DataType.BFLOAT16 ? Bf16.of(x) : AlignedArrays.copyOf(x);
        x.close();
        return b;
    }

    /** The same model with its embedding, linears and head rounded to bf16 (norms and biases stay as they are). */
    public LlamaWeights toBf16() {
        if (dataType() == DataType.BFLOAT16) {
            return this;
        }
        List<Layer> out = new ArrayList<>();
        for (Layer l : layers) {
            Map<String, INDArray> lin = new LinkedHashMap<>();
            l.linears().forEach((m, w) -> lin.put(m, Bf16.of(w)));
            out.add(new Layer(l.inputNorm(), l.postAttentionNorm(), lin, l.biases()));
        }
        return new LlamaWeights(config, Bf16.of(embed), out, finalNorm, lmHead == null ? null : Bf16.of(lmHead));
    }

    /** The tensors under their HF names and in HF layout (linears out x in), e.g. for writing a merged model. */
    public Map<String, INDArray> toHf() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        out.put("model.embed_tokens.weight", embed);
        for (int l = 0; l < layers.size(); l++) {
            Layer layer = layers.get(l);
            out.put(
                    "model.layers." + l + ".input_layernorm.weight",
                    layer.inputNorm().reshape(config.hiddenSize()));
            out.put(
                    "model.layers." + l + ".post_attention_layernorm.weight",
                    layer.postAttentionNorm().reshape(config.hiddenSize()));
            for (String m : AdapterSpec.MODULES) {
                out.put(
                        modulePath(l, m) + ".weight",
                        layer.linears().get(m).transpose().dup('c'));
                INDArray b = layer.biases().get(m);
                if (b != null) {
                    out.put(modulePath(l, m) + ".bias", b.reshape(b.length()));
                }
            }
        }
        out.put("model.norm.weight", finalNorm.reshape(config.hiddenSize()));
        if (lmHead != null) {
            out.put("lm_head.weight", lmHead);
        }
        return out;
    }

    /**
     * Loads a Hugging Face model directory. Every header is parsed and every expected tensor's presence, dtype and
     * shape checked before any tensor is read, so a wrong or truncated file fails fast with its path and tensor name.
     *
     * @param type FLOAT or DOUBLE for everything; BFLOAT16 stores the embedding, linears and head in bf16 (read
     *     straight from BF16 tensors, rounded to nearest even from others) and the norms and biases in FLOAT
     */
    public static LlamaWeights load(ModelFiles files, DataType type) throws IOException {
        BUILT.incrementAndGet();
        if (!files.exists(CONFIG)) {
            throw new IllegalArgumentException(
                    files.describe(CONFIG) + ": not found (a Hugging Face model directory" + " needs config.json)");
        }
        LlamaConfig c = LlamaConfig.parse(files.readAll(CONFIG), files.describe(CONFIG));
        Map<String, Located> index = locate(files);
        Map<String, long[]> expected = expectedShapes(c);
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            Located t = index.get(e.getKey());
            if (t == null) {
                throw new IllegalArgumentException(
                        files.describe(".") + ": tensor '" + e.getKey() + "' is missing from the checkpoint");
            }
            if (!Arrays.equals(t.entry().shape(), e.getValue())) {
                throw new IllegalArgumentException(files.describe(t.file()) + ": tensor '" + e.getKey() + "' has shape "
                        + Arrays.toString(t.entry().shape()) + ", config.json implies "
                        + Arrays.toString(e.getValue()));
            }
        }
        for (Map.Entry<String, Located> e : index.entrySet()) {
            // Rotary inverse-frequency buffers of old checkpoints are recomputed, as transformers does; anything
            // else the model would not use (a bias the config does not declare, a head of a tied model) is refused.
            if (!expected.containsKey(e.getKey()) && !e.getKey().endsWith("rotary_emb.inv_freq")) {
                throw new IllegalArgumentException(files.describe(e.getValue().file()) + ": tensor '" + e.getKey()
                        + "' is not part of a " + c.modelType() + " model as config.json describes it"
                        + " (model_type, tie_word_embeddings, attention_bias, mlp_bias); refusing rather than"
                        + " ignoring it");
            }
        }
        Reader r = new Reader(files, index, type);
        Reader small = type == DataType.BFLOAT16 ? new Reader(files, index, DataType.FLOAT) : r;
        INDArray embed = r.read("model.embed_tokens.weight");
        List<Layer> layers = new ArrayList<>();
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            Map<String, INDArray> lin = new LinkedHashMap<>();
            Map<String, INDArray> bias = new LinkedHashMap<>();
            for (String m : AdapterSpec.MODULES) {
                String name = modulePath(l, m);
                lin.put(m, r.readTransposed(name + ".weight"));
                if (c.biased().contains(m)) {
                    bias.put(m, small.readRow(name + ".bias"));
                }
            }
            layers.add(new Layer(
                    small.readRow("model.layers." + l + ".input_layernorm.weight"),
                    small.readRow("model.layers." + l + ".post_attention_layernorm.weight"),
                    lin,
                    bias));
        }
        INDArray head = c.tieWordEmbeddings() ? null : r.read("lm_head.weight");
        return new LlamaWeights(c, embed, layers, small.readRow("model.norm.weight"), head);
    }

    /** Expected tensors and their HF shapes. */
    static Map<String, long[]> expectedShapes(LlamaConfig c) {
        Map<String, long[]> out = new LinkedHashMap<>();
        long h = c.hiddenSize();
        out.put("model.embed_tokens.weight", new long[] {c.vocabSize(), h});
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            out.put("model.layers." + l + ".input_layernorm.weight", new long[] {h});
            out.put("model.layers." + l + ".post_attention_layernorm.weight", new long[] {h});
            for (String m : AdapterSpec.MODULES) {
                int[] s = c.moduleShape(m);
                out.put(modulePath(l, m) + ".weight", new long[] {s[1], s[0]});
                if (c.biased().contains(m)) {
                    out.put(modulePath(l, m) + ".bias", new long[] {s[1]});
                }
            }
        }
        out.put("model.norm.weight", new long[] {h});
        if (!c.tieWordEmbeddings()) {
            out.put("lm_head.weight", new long[] {c.vocabSize(), h});
        }
        return out;
    }

    private record Located(String file, Safetensors.Entry entry, long dataStart) {}

    /** Every tensor of the checkpoint: its file and header entry (headers validated against the file sizes). */
    private static Map<String, Located> locate(ModelFiles files) throws IOException {
        List<String> shards = new ArrayList<>();
        Map<String, String> weightMap = null;
        if (files.exists(INDEX)) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(files.readAll(INDEX));
            } catch (IOException e) {
                throw new IllegalArgumentException(files.describe(INDEX) + ": not valid JSON: " + e.getMessage(), e);
            }
            JsonNode map = root == null ? null : root.get("weight_map");
            if (map == null || !map.isObject()) {
                throw new IllegalArgumentException(files.describe(INDEX) + ": no 'weight_map' object");
            }
            weightMap = new LinkedHashMap<>();
            for (var it = map.fields(); it.hasNext(); ) {
                var e = it.next();
                weightMap.put(e.getKey(), e.getValue().asText());
                if (!shards.contains(e.getValue().asText())) {
                    shards.add(e.getValue().asText());
                }
            }
        } else if (files.exists(SINGLE)) {
            shards.add(SINGLE);
        } else {
            throw new IllegalArgumentException(
                    files.describe(".") + ": neither " + SINGLE + " nor " + INDEX + " found");
        }
        Map<String, Located> out = new LinkedHashMap<>();
        for (String shard : shards) {
            if (!files.exists(shard)) {
                throw new IllegalArgumentException(
                        files.describe(INDEX) + ": lists shard " + shard + ", which does not exist");
            }
            long size = files.size(shard);
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            if (size >= 8) {
                files.read(shard, 0, len);
            }
            long n = size >= 8 ? len.getLong(0) : 0;
            ByteBuffer head = ByteBuffer.allocate((int) Math.min(
                    8 + Math.max(0, Math.min(n, Safetensors.MAX_HEADER)), Math.max(8, size)));
            if (size >= 8) {
                files.read(shard, 0, head);
            }
            Safetensors.Header h = Safetensors.parseHeader(head.rewind(), size, files.describe(shard));
            for (Safetensors.Entry e : h.entries()) {
                out.put(e.name(), new Located(shard, e, h.dataStart()));
            }
        }
        if (weightMap != null) {
            for (var e : weightMap.entrySet()) {
                Located t = out.get(e.getKey());
                if (t == null || !t.file().equals(e.getValue())) {
                    throw new IllegalArgumentException(files.describe(e.getValue()) + ": tensor '" + e.getKey()
                            + "' listed in " + INDEX + " is not in this shard");
                }
            }
        }
        return out;
    }

    /** Reads tensors one at a time (so peak memory is one tensor's bytes, not a whole shard). */
    private record Reader(ModelFiles files, Map<String, Located> index, DataType type) {
        /** The tensor as stored: a 64-byte aligned array of {@link #type} ({@link AlignedArrays}). */
        INDArray read(String name) throws IOException {
            INDArray a = decode(name);
            return type == DataType.BFLOAT16 ? a : AlignedArrays.copyOf(a); // bf16 ones are aligned as decoded
        }

        /** The tensor transposed, as one aligned c-order copy of what was decoded. */
        INDArray readTransposed(String name) throws IOException {
            return AlignedArrays.copyOf(decode(name).transpose());
        }

        /** The tensor in {@link #type}: ND4J's array for FLOAT and DOUBLE, already an aligned one for BFLOAT16. */
        private INDArray decode(String name) throws IOException {
            Located t = index.get(name);
            long bytes = t.entry().end() - t.entry().begin();
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN);
            files.read(t.file(), t.dataStart() + t.entry().begin(), b);
            b.rewind();
            if (type == DataType.BFLOAT16) {
                if (t.entry().dtype().equals("BF16")) {
                    short[] bits = new short[Math.toIntExact(t.entry().elements())];
                    b.asShortBuffer().get(bits);
                    return Bf16.fromBits(bits, t.entry().shape());
                }
                return Bf16.of(Safetensors.toArray(t.entry(), b));
            }
            INDArray a = Safetensors.toArray(t.entry(), b);
            return a.dataType() == type ? a : a.castTo(type);
        }

        INDArray readRow(String name) throws IOException {
            INDArray a = read(name);
            return a.reshape(1, a.length());
        }
    }
}
