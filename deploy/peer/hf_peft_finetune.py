#!/usr/bin/env python3
"""The peer on the quickstart's work: Hugging Face transformers + PEFT LoRA fine-tuning builtin:arith-llama on the
bundled word problems with the same template, masking, budget and evaluation as `deploy/peft4j train --config
conf/quickstart.conf --set adapter.method=lora --set spark.executors=1 --set data.batch_rows=16` (one executor, so
one batch of 16 per step, as here):
  - Alpaca's no-input template (peft4j's `alpaca`), whole text tokenized with BOS, cut to max_length, EOS appended
    when there is room, the prompt's labels masked (train_on_inputs = false);
  - LoRA r, alpha on q,k,v,up,down (PEFT's default init: Kaiming-uniform A, zero B), AdamW (betas 0.9/0.999, eps
    1e-8, no weight decay), cosine schedule with linear warmup, gradient clipping at 1.0, float32 compute;
  - greedy generation of max_new_tokens, scored on the number after "The answer is", else the last number, as
    peft4j's metamath evaluation (and LLM-Adapters') scores it.
Prints one JSON object: final training loss (mean of the last `round` steps), eval accuracy before and after, the
loss curve, tokens/s and seconds. Run (../hf: torch 2.13 CPU, transformers 5.18, PEFT 0.21):
    ../hf/bin/python deploy/peer/hf_peft_finetune.py [--steps 600] [--seed 42]
"""
import argparse
import json
import math
import os
import random
import re
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoTokenizer, LlamaForCausalLM

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODEL = os.path.join(ROOT, "adapters/src/main/resources/org/peft4j/builtin/arith-llama")
PROMPT = ("Below is an instruction that describes a task. Write a response that appropriately completes the request."
          "\n\n### Instruction:\n{instruction}\n\n### Response:\n")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def answer(text):
    """The number after "The answer is", else the last number (peft4j's MathAnswer.extract)."""
    at = text.rfind("The answer is")
    found = NUMBER.findall(text[at:] if at >= 0 else text)
    if not found:
        return None
    v = float((found[0] if at >= 0 else found[-1]).replace(",", ""))
    return v


def example(tok, r, max_length):
    prompt = PROMPT.format(instruction=r["query"])
    full = tok(prompt + r["response"])["input_ids"]
    cut = len(full) + 1 > max_length
    ids = full[:max_length] if cut else full + [tok.eos_token_id]
    n = min(len(tok(prompt)["input_ids"]), len(ids))
    return ids, [-100] * n + ids[n:]


def batch(examples):
    width = max(len(i) for i, _ in examples)
    ids = torch.zeros(len(examples), width, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    mask = torch.zeros(len(examples), width, dtype=torch.long)
    for k, (i, l) in enumerate(examples):
        ids[k, :len(i)] = torch.tensor(i)
        labels[k, :len(l)] = torch.tensor(l)
        mask[k, :len(i)] = 1
    return ids, labels, mask


def accuracy(model, tok, records, max_new_tokens, show=0):
    model.eval()
    right = 0
    with torch.no_grad():
        for k, r in enumerate(records):
            x = torch.tensor([tok(PROMPT.format(instruction=r["query"]))["input_ids"]])
            out = model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=max_new_tokens,
                                 do_sample=False, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            text = tok.decode(out[0, x.shape[1]:], skip_special_tokens=True)
            got = answer(text)
            gold = answer(r["response"])
            if k < show:
                print(f"{r['query']!r} -> {text!r}", file=sys.stderr)
            right += got is not None and abs(got - gold) < 1e-9
    model.train()
    return right / len(records)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default=MODEL, help="a transformers directory (default: builtin:arith-llama's files)")
    p.add_argument("--train", default=os.path.join(ROOT, "conf/samples/arith_train.json"))
    p.add_argument("--eval", default=os.path.join(ROOT, "conf/samples/arith_eval.json"))
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16)
    p.add_argument("--max-length", type=int, default=96)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--round", type=int, default=10, help="steps averaged into the final loss (peft4j's local_steps)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--show", type=int, default=0, help="print this many held-out generations to stderr")
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    tok = AutoTokenizer.from_pretrained(args.model)
    model = LlamaForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0,
                                             target_modules=["q_proj", "k_proj", "v_proj", "up_proj", "down_proj"]))
    train = json.load(open(args.train))
    evals = json.load(open(args.eval))
    before = accuracy(model, tok, evals, args.max_new_tokens)
    examples = [example(tok, r, args.max_length) for r in train]
    rng = random.Random(args.seed)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=args.lr, betas=(0.9, 0.999),
                            eps=1e-8, weight_decay=0.0)

    def lr_at(s):
        if s < args.warmup:
            return (s + 1) / args.warmup
        return 0.5 * (1 + math.cos(math.pi * (s - args.warmup) / max(1, args.steps - args.warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    order, curve, tokens, start = [], [], 0, time.time()
    for step in range(args.steps):
        if len(order) < args.batch:
            more = list(range(len(examples)))
            rng.shuffle(more)
            order += more
        ids, labels, mask = batch([examples[i] for i in order[:args.batch]])
        order = order[args.batch:]
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([q for q in model.parameters() if q.requires_grad], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        curve.append(loss.item())
    seconds = time.time() - start
    after = accuracy(model, tok, evals, args.max_new_tokens, args.show)
    trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
    print(json.dumps({"method": "hf-peft-lora", "seed": args.seed, "steps": args.steps, "batch": args.batch,
                      "trainable": trainable, "final_loss": sum(curve[-args.round:]) / args.round,
                      "eval_accuracy_before": before, "eval_accuracy": after, "tokens_per_s": tokens / seconds,
                      "train_seconds": seconds,
                      "loss_every_round": [round(sum(curve[i:i + args.round]) / args.round, 4)
                                           for i in range(0, len(curve), args.round)]}))


if __name__ == "__main__":
    main()
