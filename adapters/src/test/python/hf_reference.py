#!/usr/bin/env python3
"""Golden material from Hugging Face transformers and PEFT themselves, for HfFamiliesTest and PeftFormatTest.

It writes, under adapters/src/test/resources/hf/:
  tok-bos/, tok-nobos/   tokenizers built with the `tokenizers` library and saved by transformers (one whose
                         post-processor adds BOS, as LLaMA's; one without BOS, as Qwen2's), and tokenizers.json:
                         texts and the ids AutoTokenizer gives, with its bos/eos/pad ids
  <family>/f32/          a small random model saved by transformers' save_pretrained (F32, one file) + tokenizer
  <family>/bf16/         the same weights saved in BF16, sharded (max_shard_size) with an index
  <family>/expected.safetensors   input ids, logits and loss computed by transformers from each (fp32 compute)
  peft/lora, peft/rslora PEFT LoRA adapters written by PEFT itself (rank_pattern, alpha_pattern, rsLoRA) on the
                         llama3 base, and expected.safetensors: the logits PEFT computes with each
  peft4j/<name>/expected.safetensors   the logits PEFT computes with adapter directories that peft4j wrote
                         (peft4j/<name>/adapter: written by PeftFormatTest with -Dpeft4j.goldens.write=true)

Families: llama2 (transformers 4 layout: top-level rope_theta), llama3 (rope_parameters, default type, theta 5e5,
eos list), llama31 (rope type llama3) and llama31-tf4 (the same as transformers 4 wrote it: rope_scaling),
llama32 (llama3 rope, tied embeddings), mistral (model_type mistral, sliding_window above the sequence), qwen2
(q/k/v bias, tied, theta 1e6, no BOS), llama-bias (attention_bias, mlp_bias, explicit head_dim, rope type linear).

Regenerate, offline, with the machine's local wheels (torch CPU 2.13, transformers 5.18, PEFT 0.21):
    python3 -m venv ../hf && ../hf/bin/pip install --index-url file:///opt/pypi/simple \\
        /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl transformers==5.18.0 peft safetensors tokenizers
    ../hf/bin/python adapters/src/test/python/hf_reference.py           # models, tokenizers, PEFT-written adapters
    mvn -B -q -pl adapters test -Dtest=PeftFormatTest -Dpeft4j.goldens.write=true   # peft4j-written adapters
    ../hf/bin/python adapters/src/test/python/hf_reference.py --peft4j  # PEFT's logits with those
"""
import argparse
import json
import os
import shutil
import warnings

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast
from transformers import LlamaConfig, MistralConfig, Qwen2Config

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "resources", "hf"))
TEXTS = ["hello world", "The quick brown fox jumps over the lazy dog.", "naïve café 数学 ∑ 😀", ""]
CORPUS = ["the quick brown fox jumps over the lazy dog", "hello world, hello there", "an answer is: 42"] * 20
SEQ = 24

BASE = dict(vocab_size=264, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.2,
            bos_token_id=1, eos_token_id=2, pad_token_id=0)
LLAMA3_ROPE = {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
               "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
FAMILIES = {
    "llama2": (LlamaConfig, dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "tf4", "bos"),
    "llama3": (LlamaConfig, dict(rope_parameters={"rope_type": "default", "rope_theta": 500000.0},
                                  eos_token_id=[2, 3]), None, "bos"),
    "llama31": (LlamaConfig, dict(rope_parameters=dict(LLAMA3_ROPE), eos_token_id=[2, 3]), None, "bos"),
    "llama31-tf4": (LlamaConfig, dict(rope_parameters=dict(LLAMA3_ROPE), eos_token_id=[2, 3]), "tf4", "bos"),
    "llama32": (LlamaConfig, dict(rope_parameters=dict(LLAMA3_ROPE), tie_word_embeddings=True), None, "bos"),
    "mistral": (MistralConfig, dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                                    sliding_window=4096), None, "bos"),
    "qwen2": (Qwen2Config, dict(rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                                tie_word_embeddings=True, bos_token_id=None), None, "nobos"),
    "llama-bias": (LlamaConfig, dict(rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
                                     attention_bias=True, mlp_bias=True, head_dim=8), None, "bos"),
}


def tokenizer(bos):
    """A byte-level BPE trained here; `bos` decides whether the saved post-processor adds <s>."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=264, special_tokens=["<pad>", "<s>", "</s>", "<|eot|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    t = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>" if bos else None, eos_token="</s>",
                                pad_token="<pad>", add_bos_token=bos)
    t.chat_template = "{% for m in messages %}<|eot|>{{ m['role'] }}: {{ m['content'] }}{% endfor %}"
    return t


def perturb(model, gen):
    """HF's init gives norm gains of exactly 1 and zero biases: make every tensor matter."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def to_tf4_layout(config_path):
    """Rewrite a transformers 5 config.json as transformers 4 wrote it: rope_theta and rope_scaling at top level."""
    with open(config_path) as f:
        c = json.load(f)
    rope = c.pop("rope_parameters")
    c["rope_theta"] = rope.pop("rope_theta")
    c["rope_scaling"] = None if rope["rope_type"] == "default" else rope
    c["torch_dtype"] = c.pop("dtype", "float32")
    with open(config_path, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)


def batch(gen):
    ids = torch.randint(4, 264, (2, SEQ), generator=gen)
    ids[:, 0] = 1
    return ids


def logits_and_loss(model_dir, ids, adapter=None):
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a key PEFT did not find, or a config key it does not know, fails here
            model = PeftModel.from_pretrained(model, adapter)
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, labels=ids)
    return out.logits.float().contiguous(), out.loss.float().reshape(1)


def families(gen):
    for name, (config_class, extra, layout, tok_name) in FAMILIES.items():
        kwargs = dict(BASE)
        kwargs.update(extra)
        config = config_class(**kwargs)
        torch.manual_seed(sum(map(ord, name)))
        model = AutoModelForCausalLM.from_config(config)
        perturb(model, gen)
        root = os.path.join(OUT, name)
        shutil.rmtree(root, ignore_errors=True)
        f32, bf16 = os.path.join(root, "f32"), os.path.join(root, "bf16")
        model.save_pretrained(f32)
        model.to(torch.bfloat16).save_pretrained(bf16, max_shard_size="40KB")
        tok = AutoTokenizer.from_pretrained(os.path.join(OUT, "tok-" + tok_name))
        for d in (f32, bf16):
            tok.save_pretrained(d)
            if layout == "tf4":
                to_tf4_layout(os.path.join(d, "config.json"))
        ids = batch(gen)
        expected = {"input_ids": ids.to(torch.int64)}
        for d, tag in ((f32, "f32"), (bf16, "bf16")):
            logits, loss = logits_and_loss(d, ids)
            expected["logits_" + tag], expected["loss_" + tag] = logits, loss
        save_file(expected, os.path.join(root, "expected.safetensors"))
        print(name, "loss f32 %.5f bf16 %.5f" % (expected["loss_f32"].item(), expected["loss_bf16"].item()))


def beam_golden():
    """transformers' generate on the llama3 model: greedy, and beam search with stop tokens that do and do not occur."""
    from safetensors.torch import load_file
    d = os.path.join(OUT, "llama3", "f32")
    model = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    prompt = load_file(os.path.join(OUT, "llama3", "expected.safetensors"))["input_ids"][:1, :8]
    out = {"prompt": prompt[0].to(torch.int64)}

    def gen(name, beams, eos, n=10):
        with torch.no_grad():
            ids = model.generate(prompt, num_beams=beams, max_new_tokens=n, do_sample=False, early_stopping=False,
                                 length_penalty=1.0, eos_token_id=eos, pad_token_id=0, use_cache=True)
        out[name] = ids[0, prompt.shape[1]:].to(torch.int64)
        out[name + ".eos"] = torch.tensor(eos, dtype=torch.int64)
        print("generate", name, out[name].tolist())

    gen("greedy", 1, [2, 3])
    g = out["greedy"].tolist()
    gen("beams4", 4, [2, 3])
    gen("beams4_stop", 4, [g[2]])
    gen("beams3_stops", 3, [g[1], g[4]])
    save_file(out, os.path.join(OUT, "llama3", "generate.safetensors"))


def tokenizers_golden():
    golden = {}
    for name, bos in (("bos", True), ("nobos", False)):
        d = os.path.join(OUT, "tok-" + name)
        shutil.rmtree(d, ignore_errors=True)
        tokenizer(bos).save_pretrained(d)
        t = AutoTokenizer.from_pretrained(d)
        golden[name] = {"bos_token_id": t.bos_token_id, "eos_token_id": t.eos_token_id,
                        "pad_token_id": t.pad_token_id,
                        "ids": [t(x)["input_ids"] for x in TEXTS],
                        "plain_ids": [t(x, add_special_tokens=False)["input_ids"] for x in TEXTS],
                        "decoded": [t.decode(t(x, add_special_tokens=False)["input_ids"]) for x in TEXTS]}
    with open(os.path.join(OUT, "tokenizers.json"), "w") as f:
        json.dump({"texts": TEXTS, "tokenizers": golden}, f, indent=1, ensure_ascii=False)


def peft_written(gen):
    from peft import LoraConfig, get_peft_model
    base = os.path.join(OUT, "llama3", "f32")
    from safetensors.torch import load_file
    ids = load_file(os.path.join(OUT, "llama3", "expected.safetensors"))["input_ids"]
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    configs = {
        "lora": LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False,
                           rank_pattern={"k_proj": 2, "model.layers.1.mlp.down_proj": 3},
                           alpha_pattern={"v_proj": 3}),
        "rslora": LoraConfig(r=4, lora_alpha=6, target_modules=["q_proj", "v_proj", "down_proj"],
                             init_lora_weights=False, use_rslora=True),
    }
    for name, lc in configs.items():
        torch.manual_seed(7)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        pm = get_peft_model(model, lc)
        d = os.path.join(OUT, "peft", name)
        shutil.rmtree(d, ignore_errors=True)
        pm.save_pretrained(d)
        os.remove(os.path.join(d, "README.md"))
        logits, loss = logits_and_loss(base, ids, adapter=d)
        save_file({"logits": logits, "loss": loss}, os.path.join(d, "expected.safetensors"))
        print("peft", name, "loss %.5f" % loss.item())


def peft4j_written():
    """PEFT's logits with adapter directories peft4j wrote (LoRA final/ and exports of LaMDA, LaMDA++, Neat)."""
    from safetensors.torch import load_file
    root = os.path.join(OUT, "peft4j")
    for name in sorted(os.listdir(root)):
        adapter = os.path.join(root, name, "adapter")
        if not os.path.isdir(adapter):
            continue
        with open(os.path.join(adapter, "adapter_config.json")) as f:
            base = os.path.join(OUT, json.load(f)["base_model_name_or_path"])
        ids = load_file(os.path.join(base, "..", "expected.safetensors"))["input_ids"]
        logits, loss = logits_and_loss(base, ids, adapter=adapter)
        save_file({"logits": logits, "loss": loss}, os.path.join(root, name, "expected.safetensors"))
        print("peft4j", name, "loss %.5f" % loss.item())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peft4j", action="store_true", help="only PEFT's logits for the peft4j-written adapters")
    a = ap.parse_args()
    torch.set_num_threads(2)
    if a.peft4j:
        peft4j_written()
        return
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    tokenizers_golden()
    families(gen)
    beam_golden()
    peft_written(gen)


if __name__ == "__main__":
    main()
