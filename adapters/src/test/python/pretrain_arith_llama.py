#!/usr/bin/env python3
"""Pretrains the built-in base model builtin:arith-llama with Hugging Face transformers, offline, on 2 CPU cores.

A small LLaMA (4 layers, d 256, GQA 4/2 heads, SwiGLU 688, untied head; byte-level BPE of 860 tokens in which every
number 0..198 is one token; 3.3M parameters, 6.7 MB as BF16 safetensors) learns from a corpus this script generates:
  - arithmetic written one way: "47 + 38 = 85", "85 - 38 = 47" (operands 0..99, differences never negative);
  - stories that use them: "Tom has 47 apples. Then Tom buys 38 more apples. 47 + 38 = 85." (verbs: buys more,
    finds, gets given: +; gives to, eats: -), with no question and no answer line: the model knows the words, the
    sums and where their numbers come from, but has never seen a question asked or answered;
  - numbers said twice ("Mia reads 47 38 12. Again: 47 38 12."), which teach it to copy;
  - (stage 3) stories closed by their result: "... 47 + 38 = 85. So Tom has 85 apples."
The downstream task (conf/samples/make_samples.py: word problems in MetaMathQA's schema, "The answer is: X") asks
the same sums another way, with verbs the corpus never has; zero-shot the model does not answer it, fine-tuned it
carries its arithmetic over.

It writes adapters/src/main/resources/org/peft4j/builtin/arith-llama/: config.json, model.safetensors (BF16),
tokenizer.json, tokenizer_config.json, generation_config.json (all as save_pretrained writes them), heldout.txt
(corpus text from a seed never trained on) and pretrain.json (the recipe, the loss curve, the held-out perplexity
transformers computes for the saved BF16 weights in float32, the way `deploy/peft4j perplexity` cuts the text:
whole text tokenized, consecutive blocks of 128, last partial block dropped, and greedy accuracies on fresh sums and
stories).

Three stages (STAGES) of 32 x 128 tokens: 2400 steps mostly on sums, 1200 more on stories and copying at a lower
rate, 1500 with closing sentences at a lower rate still. Each stage starts from the BF16 weights the one before
would save, so a run can stop after any stage and go on with --resume. Regenerate (about 45 minutes on 2 cores;
torch 2.13 CPU, transformers 5.18, tokenizers from the local wheels):
    ../hf/bin/python adapters/src/test/python/pretrain_arith_llama.py [--out DIR]
    ../hf/bin/python adapters/src/test/python/pretrain_arith_llama.py --resume DIR  # the stages DIR has not run
"""
import argparse
import json
import math
import os
import random
import time

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "main", "resources", "org", "peft4j", "builtin", "arith-llama"))

NAMES = ["Tom", "Anna", "Ben", "Mia", "Leo", "Sara", "Max", "Lily", "Sam", "Emma", "Jack", "Nora"]
THINGS = ["apples", "pears", "books", "coins", "stamps", "marbles", "shells", "cards", "pens", "eggs"]
BLOCK = 128
HELDOUT_BLOCKS = 64
BATCH = 32
# Greedy accuracy on fresh sums / stories as the run went: stage 1 0.08/0.00 at step 300, 0.44/0.40 at 1500,
# 0.82/1.00 at 2400; stage 2 dips (a fresh optimizer at its peak rate: 0.54/0.44 at 2700) and ends 0.875/0.99;
# stage 3 takes the sums further and teaches a closing sentence that repeats the result, which is what a
# fine-tuned "The answer is: X" copies.
STAGES = [{"steps": 2400, "lr": 3e-3, "story_share": 0.3, "copy_share": 0.1},
          {"steps": 1200, "lr": 1e-3, "story_share": 0.4, "copy_share": 0.2},
          {"steps": 1500, "lr": 5e-4, "story_share": 0.35, "copy_share": 0.1, "closing": 0.5}]
SEEDS = [2, 6, 9]  # the corpus of stage i is drawn from random.Random(SEEDS[i])


def equation(rng):
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    if rng.random() < 0.5:
        return f"{a} + {b} = {a + b}"
    a, b = max(a, b), min(a, b)
    return f"{a} - {b} = {a - b}"


def story(rng, closing=0.0):
    """Two statements and the sum they make, as a textbook writes it: "Tom has 47 apples. Tom buys 38 more apples.
    47 + 38 = 85." (no question, no answer line)."""
    name, other = rng.sample(NAMES, 2)
    thing = rng.choice(THINGS)
    a, b = rng.randint(0, 99), rng.randint(0, 99)
    op, second = rng.choice([("+", "{n} buys {b} more {t}."), ("+", "{n} finds {b} {t}."), ("+", "{o} gives {n} {b} {t}."),
                             ("-", "{n} gives {b} {t} to {o}."), ("-", "{n} eats {b} {t}.")])
    if op == "-":
        a, b = max(a, b), min(a, b)
    second = rng.choice(["", "Then "]) + second.format(n=name, o=other, b=b, t=thing)
    first = rng.choice([f"{name} has {a} {thing}.", f"There are {a} {thing} in the box of {name}."])
    c = a + b if op == "+" else a - b
    # (stage 3) a closing sentence that repeats the result: "So Tom has 85 apples."
    end = f" So {name} has {c} {thing}." if closing and rng.random() < closing else ""
    return f"{first} {second} {a} {op} {b} = {c}.{end}"


HEADER = ("Below is an instruction that describes a task. Write a response that appropriately completes the"
          " request.")
# Words the fine-tuning prompts use (Alpaca's template, the questions, the answer line) that the pretraining corpus
# never puts together: the tokenizer learns them as tokens, the model never sees a question answered.
TASK_WORDS = [HEADER, "### Instruction:", "### Response:", " How many", " does", " have now?", " have left?",
              " The answer is:", " Then", " more", " gives away", " loses", " gets", " from"]


def copy_line(rng):
    """Numbers said twice: "Tom reads 47 38 12 90 5. Again: 47 38 12 90 5." Copying what came before is what lets a
    small model carry a story's (or a question's) numbers into its sum; sums and stories alone teach it slowly."""
    numbers = " ".join(str(rng.randint(0, 99)) for _ in range(rng.randint(3, 10)))
    return f"{rng.choice(NAMES)} reads {numbers}. Again: {numbers}."


def document(rng, story_share=0.25, copy_share=0.0, closing=0.0):
    """A few lines of one kind or the other: most of the corpus is arithmetic; a few prose lines open with
    Alpaca's header sentence so its tokens are trained."""
    u = rng.random()
    if u < copy_share:
        return "\n".join(copy_line(rng) for _ in range(rng.randint(1, 3)))
    if u >= story_share + copy_share:
        return "\n".join(equation(rng) for _ in range(rng.randint(3, 8)))
    lines = [story(rng, closing) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.2:
        lines.insert(0, HEADER)
    return "\n".join(lines)


NUMBERS = range(0, 199)  # every operand (0..99) and every result (0..198)


def tokenizer(rng):
    """Byte-level BPE (GPT-2's pre-tokenizer, digits kept together) of at most 1024 tokens (the trainer stops at 860:
    nothing more to merge) in which every number 0..198 is one token, with and without its leading space: a sum is then three tokens looked up, not six digits carried,
    and copying a question's number into the sum is one token found, not two digits matched in order (with digits
    split one per token, a 3M-parameter model got the sums right but copied a story's numbers right 7% of the
    time). The numbers are fed to the trainer often enough that it merges each one whole; checked below."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", 1)])
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=["<pad>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    numbers = [" ".join(str(n) for n in NUMBERS), "\n".join(str(n) for n in NUMBERS)] * 300
    tok.train_from_iterator([document(rng) for _ in range(20000)] + TASK_WORDS * 200 + numbers, trainer)
    for n in NUMBERS:
        for text in (str(n), f" {n}"):
            ids = tok.encode(text, add_special_tokens=False).ids
            if len(ids) != 1:
                raise SystemExit(f"tokenizer: {text!r} is {len(ids)} tokens, not one: raise vocab_size")
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   add_bos_token=True)


def stream(tok, rng, n_tokens, story_share, copy_share, closing=0.0):
    """Documents tokenized (BOS first) and joined with EOS, cut into blocks of BLOCK tokens."""
    ids = []
    while len(ids) < n_tokens:
        ids += tok(document(rng, story_share, copy_share, closing))["input_ids"] + [tok.eos_token_id]
    ids = ids[:n_tokens - n_tokens % BLOCK]
    return torch.tensor(ids, dtype=torch.long).view(-1, BLOCK)


def perplexity(model, ids, rows=4):
    """Mean next-token NLL over consecutive blocks, as peft4j's Perplexity.of computes it."""
    blocks = ids[: len(ids) - len(ids) % BLOCK].view(-1, BLOCK)
    nll, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(blocks), rows):
            x = blocks[i:i + rows]
            logits = model(input_ids=x).logits.float()
            lp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, x[:, 1:, None])
            nll -= lp.double().sum().item()
            count += lp.numel()
    return count, nll / count, math.exp(nll / count)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--resume", help="a directory this script wrote: train only the STAGES after those its"
                                    " pretrain.json lists, from its BF16 weights and its tokenizer")
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    # the BPE trainer breaks ties between equal pair counts in no fixed order: a second run can number some merges
    # differently, so a resumed run takes the tokenizer with the weights
    tok = AutoTokenizer.from_pretrained(args.resume) if args.resume else tokenizer(random.Random(1))
    config = LlamaConfig(vocab_size=len(tok), hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         rms_norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                         tie_word_embeddings=False, bos_token_id=1, eos_token_id=2, pad_token_id=0,
                         initializer_range=0.02)
    n_params = sum(p.numel() for p in LlamaForCausalLM(config).parameters())
    curve, start, first = [], time.time(), 0
    if args.resume:
        model = LlamaForCausalLM.from_pretrained(args.resume, dtype=torch.float32)
        done = json.load(open(os.path.join(args.resume, "pretrain.json")))
        first = len(done["stages"])
        if done["stages"] != STAGES[:first]:
            raise SystemExit(f"{args.resume}/pretrain.json: stages {done['stages']} are not the first of {STAGES}")
        curve, start = done["loss_curve"], start - done["train_seconds"]
    else:
        torch.manual_seed(0)
        model = LlamaForCausalLM(config)
    for i in range(first, len(STAGES)):
        if i > 0:  # a later stage starts from the weights as a saved directory holds them (BF16): --resume agrees
            model.to(torch.bfloat16).to(torch.float32)
        curve += train(model, tok, random.Random(SEEDS[i]), STAGES[i], sum(s["steps"] for s in STAGES[:i]))
    seconds = time.time() - start
    model.eval()
    os.makedirs(args.out, exist_ok=True)
    model.to(torch.bfloat16).save_pretrained(args.out)
    tok.save_pretrained(args.out)
    rng = random.Random(3)
    docs = []
    while len(tok("\n\n".join(docs))["input_ids"]) < (HELDOUT_BLOCKS + 1) * BLOCK:
        docs.append(document(rng))
    heldout = "\n\n".join(docs) + "\n"
    with open(os.path.join(args.out, "heldout.txt"), "w", encoding="utf-8") as f:
        f.write(heldout)
    saved = LlamaForCausalLM.from_pretrained(args.out, dtype=torch.float32)
    ids = torch.tensor(tok(heldout)["input_ids"], dtype=torch.long)
    tokens, nll, ppl = perplexity(saved, ids)
    acc = arithmetic_accuracy(saved, tok, random.Random(4))
    report = {"parameters": n_params, "stages": STAGES, "batch": BATCH, "block": BLOCK,
              "train_seconds": round(seconds), "torch": torch.__version__,
              "transformers": __import__("transformers").__version__, "loss_curve": curve,
              "heldout": {"file": "heldout.txt", "block_size": BLOCK, "tokens": tokens, "nll": nll,
                          "perplexity": ppl},
              "greedy_arithmetic_accuracy": acc,
              "greedy_story_accuracy": story_accuracy(saved, tok, random.Random(7))}
    with open(os.path.join(args.out, "pretrain.json"), "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v for k, v in report.items() if k != "loss_curve"}))


def train(model, tok, rng, stage, first_step):
    """One stage: AdamW (betas 0.9/0.95, weight decay 0.1), linear warm-up then cosine decay, bf16 autocast."""
    steps, lr = stage["steps"], stage["lr"]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.1)
    warmup = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * min(1.0, s / steps))))
    curve, start = [], time.time()
    model.train()
    for step in range(steps):
        x = stream(tok, rng, BATCH * BLOCK, stage["story_share"], stage["copy_share"], stage.get("closing", 0.0))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if step % 50 == 0 or step == steps - 1:
            curve.append([first_step + step, round(loss.item(), 4)])
            print(f"step {first_step + step} loss {loss.item():.4f} {time.time() - start:.0f}s", flush=True)
        if step % 300 == 299:
            model.eval()
            print(f"step {first_step + step} greedy accuracy: sums"
                  f" {arithmetic_accuracy(model, tok, random.Random(5), 50)},"
                  f" stories {story_accuracy(model, tok, random.Random(8), 50)}", flush=True)
            model.train()
    model.eval()
    return curve


def greedy_line(model, tok, prompt):
    x = torch.tensor([tok(prompt)["input_ids"]])
    out = model.generate(x, max_new_tokens=12, do_sample=False, pad_token_id=0)
    return tok.decode(out[0, x.shape[1]:], skip_special_tokens=True).split("\n")[0]


def story_accuracy(model, tok, rng, n=200):
    """Greedy completion of a fresh story's two sentences with its sum, both operands copied and the result right
    (what follows the sum, such as stage 3's closing sentence, is not scored)."""
    right = 0
    for _ in range(n):
        text = story(rng)
        cut = text.rindex(". ") + 1
        right += greedy_line(model, tok, text[:cut]).strip().startswith(text[cut:].strip())
    return right / n


def arithmetic_accuracy(model, tok, rng, n=200):
    """Greedy completion of "a + b =" / "a - b =" for fresh operands: what the model knows before fine-tuning."""
    right = 0
    for _ in range(n):
        line = equation(rng)
        prompt, answer = line.rsplit(" ", 1)
        right += greedy_line(model, tok, prompt).strip() == answer
    return right / n


if __name__ == "__main__":
    main()
