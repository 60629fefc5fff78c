#!/usr/bin/env python3
"""Independent reference for LlamaModelGoldenTest: a LLaMA forward pass in plain numpy (float64).

It writes, under adapters/src/test/resources/golden/:
  tiny-f32/            config.json + model.safetensors (F32), a small random LLaMA with GQA and an untied head
  tiny-bf16-sharded/   the same weights rounded to BF16, split over two shards + model.safetensors.index.json
  expected.safetensors logits, loss and greedy continuations computed here from the F32 and the BF16 weights

Regenerate (numpy only; no torch, no transformers):
    python3 adapters/src/test/python/llama_reference.py
The maths follows Hugging Face transformers' modeling_llama (rotate-half rotary, repeat_kv, RMSNorm in float32,
SiLU-gated MLP, labels shifted inside the loss with -100 ignored), written from its description, not its code.
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "golden")

CONFIG = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 97,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 64,
    "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "hidden_act": "silu",
}
MODULES = {"q_proj": "self_attn", "k_proj": "self_attn", "v_proj": "self_attn", "o_proj": "self_attn",
           "gate_proj": "mlp", "up_proj": "mlp", "down_proj": "mlp"}


def make_weights(rng):
    c = CONFIG
    d, f, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    hd = d // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    shapes = {"q_proj": (q, d), "k_proj": (kv, d), "v_proj": (kv, d), "o_proj": (d, q),
              "gate_proj": (f, d), "up_proj": (f, d), "down_proj": (d, f)}
    w = {"model.embed_tokens.weight": rng.normal(0, 1.0, (v, d))}
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        w[p + "input_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        w[p + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.1, d)
        for m, block in MODULES.items():
            out_dim, in_dim = shapes[m]
            w[p + block + "." + m + ".weight"] = rng.normal(0, 1 / np.sqrt(in_dim), shapes[m])
    w["model.norm.weight"] = 1 + rng.normal(0, 0.1, d)
    w["lm_head.weight"] = rng.normal(0, 1 / np.sqrt(d), (v, d))
    return {k: a.astype(np.float32) for k, a in w.items()}


def to_bf16_bits(a):
    bits = a.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even
    return rounded.astype(np.uint16)


def from_bf16_bits(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = to_bf16_bits(a).tobytes() if dtype == "BF16" else np.ascontiguousarray(a, "<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    js = json.dumps(header).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def rms_norm(x, w, eps):
    return w * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))


def rotate(x, pos, theta):
    hd = x.shape[-1]
    inv = 1.0 / theta ** (np.arange(0, hd, 2) / hd)
    ang = pos[:, None] * inv[None, :]
    emb = np.concatenate([ang, ang], -1)
    rot = np.concatenate([-x[..., hd // 2:], x[..., : hd // 2]], -1)
    return x * np.cos(emb)[:, None, :] + rot * np.sin(emb)[:, None, :]


def forward(w, ids):
    """Logits (T x vocab) of one unpadded sequence, positions 0..T-1."""
    c = CONFIG
    heads, kvh = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c["hidden_size"] // heads
    w = {k: a.astype(np.float64) for k, a in w.items()}
    T = len(ids)
    pos = np.arange(T, dtype=np.float64)
    x = w["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], c["rms_norm_eps"])
        q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(T, heads, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(T, kvh, hd)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(T, kvh, hd)
        q, k = rotate(q, pos, c["rope_theta"]), rotate(k, pos, c["rope_theta"])
        k, v = np.repeat(k, heads // kvh, axis=1), np.repeat(v, heads // kvh, axis=1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        o = np.einsum("hts,shd->thd", s, v).reshape(T, heads * hd)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], c["rms_norm_eps"])
    return x @ w["lm_head.weight"].T


def loss(logits_rows, labels_rows):
    total, count = 0.0, 0
    for logits, labels in zip(logits_rows, labels_rows):
        for t in range(len(labels) - 1):
            y = labels[t + 1]
            if y == -100:
                continue
            z = logits[t] - logits[t].max()
            total += np.log(np.exp(z).sum()) - z[y]
            count += 1
    return total / count


def greedy(w, prompt, n, eos):
    ids = list(prompt)
    out = []
    for _ in range(n):
        nxt = int(np.argmax(forward(w, np.array(ids))[-1]))
        out.append(nxt)
        if nxt == eos:
            break
        ids.append(nxt)
    return out


def main():
    rng = np.random.default_rng(20261124)
    w = make_weights(rng)
    wb = {k: from_bf16_bits(to_bf16_bits(a)) for k, a in w.items()}
    f32 = os.path.join(OUT, "tiny-f32")
    bf16 = os.path.join(OUT, "tiny-bf16-sharded")
    for d in (f32, bf16):
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(CONFIG, f, indent=2)
    write_safetensors(os.path.join(f32, "model.safetensors"), w, "F32")
    names = list(w)
    half = len(names) // 2
    shards = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
    weight_map = {}
    for shard, keys in shards.items():
        write_safetensors(os.path.join(bf16, shard), {k: w[k] for k in keys}, "BF16")
        weight_map.update({k: shard for k in keys})
    with open(os.path.join(bf16, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(a.size * 2 for a in w.values())}, "weight_map": weight_map}, f,
                  indent=2)

    # Two rows of 7 tokens; the second is right-padded after 5 (its pad tokens are never scored).
    ids = np.array([[1, 17, 42, 5, 88, 23, 9], [1, 60, 3, 71, 14, 0, 0]])
    lengths = [7, 5]
    labels = np.array([[-100, -100, 42, 5, 88, 23, 9], [-100, 60, 3, -100, 14, -100, -100]])
    expected = {}
    for tag, weights in (("f32", w), ("bf16", wb)):
        rows = [forward(weights, ids[r, : lengths[r]]) for r in range(2)]
        logits = np.zeros((2, 7, CONFIG["vocab_size"]))
        for r in range(2):
            logits[r, : lengths[r]] = rows[r]
        expected[tag + ".logits"] = logits
        expected[tag + ".loss"] = np.array([loss(rows, [labels[r, : lengths[r]] for r in range(2)])])
    prompts = [[1, 17, 42, 5], [1, 60], [1, 33, 8]]
    gen = [greedy(w, p, 6, CONFIG["eos_token_id"]) for p in prompts]
    expected["generate.max_new_tokens"] = np.array([6.0])
    for i, (p, g) in enumerate(zip(prompts, gen)):
        expected[f"generate.prompt{i}"] = np.array(p, dtype=np.float64)
        expected[f"generate.output{i}"] = np.array(g, dtype=np.float64)
    expected["input_ids"] = ids.astype(np.float64)
    expected["labels"] = labels.astype(np.float64)
    expected["lengths"] = np.array(lengths, dtype=np.float64)
    write_f64(os.path.join(OUT, "expected.safetensors"), expected)
    print("wrote", OUT, "generations", gen)


def write_f64(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, "<f8").tobytes()
        header[name] = {"dtype": "F64", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    js = json.dumps(header).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


if __name__ == "__main__":
    main()
