#!/usr/bin/env python3
"""Writes the dataset fixtures under datasets/src/test/resources/fixtures/ (deterministic; plain python3).

Each file follows its public schema exactly (../shared/METHODS.md): LLM-Adapters Commonsense170K and per-task test
files (JSON arrays), MetaMathQA (JSON array), GSM8K test (JSON Lines), and the eight GLUE TSV layouts. They include
unicode, empty inputs, CRLF line endings and a very long record. Regenerate with:
    python3 datasets/src/test/python/make_fixtures.py
"""
import json
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures")
rng = random.Random(20261124)

WORDS = ("apple river stone window garden cloud violin engine candle forest music ladder winter harbor "
         "café naïve façade 数学 草原 😀 Zürich São").split()


def sentence(n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def commonsense_records(n):
    out = []
    kinds = [
        ("boolq", lambda: (f"Please answer the following question with true or false, question: is the {rng.choice(WORDS)} {rng.choice(WORDS)}?\n\nAnswer format: true/false", rng.choice(["true", "false"]))),
        ("piqa", lambda: (f"Please choose the correct solution to the question: {sentence(6)}\n\nSolution1: {sentence(5)}\n\nSolution2: {sentence(5)}\n\nAnswer format: solution1/solution2", rng.choice(["solution1", "solution2"]))),
        ("siqa", lambda: (f"Please choose the correct answer to the question: {sentence(8)}\n\nAnswer1: {sentence(2)} Answer2: {sentence(2)} Answer3: {sentence(2)}\n\nAnswer format: answer1/answer2/answer3", rng.choice(["answer1", "answer2", "answer3"]))),
        ("hellaswag", lambda: (f"Please choose the correct ending to complete the given sentence: {sentence(7)}\n\nEnding1: {sentence(3)} Ending2: {sentence(3)} Ending3: {sentence(3)} Ending4: {sentence(3)}\n\nAnswer format: ending1/ending2/ending3/ending4", rng.choice(["ending1", "ending2", "ending3", "ending4"]))),
        ("winogrande", lambda: (f"Please choose the correct answer to fill in the blank to complete the given sentence: {sentence(6)} _ {sentence(3)}\n\nOption1: {rng.choice(WORDS)} Option2: {rng.choice(WORDS)} Answer format: option1/option2", rng.choice(["option1", "option2"]))),
    ]
    for i in range(n):
        _, make = kinds[i % len(kinds)]
        instruction, answer = make()
        out.append({"instruction": instruction, "input": "", "output": f"the correct answer is {answer}", "answer": answer})
    # An example with a non-empty input, and a very long one.
    out.append({"instruction": "Answer with true or false.", "input": "Context: " + sentence(12), "output": "the correct answer is true", "answer": "true"})
    out.append({"instruction": "Please answer true or false: " + " ".join(sentence(20) for _ in range(400)), "input": "", "output": "the correct answer is false", "answer": "false"})
    return out


def write(path, text, newline="\n"):
    full = os.path.join(OUT, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8", newline="") as f:
        f.write(text.replace("\n", newline))


def main():
    records = commonsense_records(30)
    # JSON array, CRLF line endings, non-ASCII written as is.
    write("commonsense_170k.json", json.dumps(records, ensure_ascii=False, indent=4), "\r\n")
    boolq = [{"instruction": f"Please answer the following question with true or false, question: does {rng.choice(WORDS)} float?\n\nAnswer format: true/false", "input": "", "output": f"the correct answer is {a}", "answer": a} for a in ["true", "false"] * 12]
    write("boolq_test.json", json.dumps(boolq, indent=2))

    meta = []
    for i in range(24):
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        kind = rng.choice(["GSM_Rephrased", "MATH_AnsAug", "GSM_SV", "MATH_FOBAR"])
        meta.append({"query": f"Lena has {a} apples and buys {b} more. How many apples does she have?",
                     "response": f"Lena starts with {a} apples.\nShe buys {b} more, so she has {a} + {b} = {a + b} apples.\nThe answer is: {a + b}",
                     "type": kind, "original_question": f"Lena has {a} apples and buys {b} more. How many?"})
    meta.append({"query": "What is 1,000 + 234.5? Give the exact value — no rounding.", "response": "1,000 + 234.5 = 1,234.5\nThe answer is: 1,234.5", "type": "MATH_AnsAug", "original_question": ""})
    write("metamathqa.json", json.dumps(meta, ensure_ascii=False, indent=2))

    gsm = []
    for i in range(24):
        a, b = rng.randint(2, 30), rng.randint(2, 30)
        gsm.append({"question": f"A box holds {a} pens. How many pens are in {b} boxes?", "answer": f"Each box holds {a} pens.\n{b} boxes hold {a}*{b} = <<{a}*{b}={a * b}>>{a * b} pens.\n#### {a * b}"})
    write("gsm8k_test.jsonl", "\n".join(json.dumps(g) for g in gsm) + "\n", "\r\n")

    # GLUE: the official layouts (0-based columns as in METHODS.md).
    write("glue/SST-2/train.tsv", "sentence\tlabel\n" + "".join(f"{sentence(6)} \t{rng.randint(0, 1)}\n" for _ in range(20)))
    write("glue/CoLA/train.tsv", "".join(f"gj04\t{l}\t{'' if l else '*'}\t{sentence(5)}\n" for l in [rng.randint(0, 1) for _ in range(20)]))
    write("glue/MRPC/train.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n" + "".join(f"{rng.randint(0, 1)}\t{1000 + i}\t{2000 + i}\t{sentence(7)}\t\"{sentence(7)}\"\n" for i in range(20)), "\r\n")
    write("glue/QQP/train.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n" + "".join(f"{i}\t{2 * i}\t{2 * i + 1}\tWhy is {rng.choice(WORDS)} {rng.choice(WORDS)}?\tHow is {rng.choice(WORDS)} made?\t{rng.randint(0, 1)}\n" for i in range(20)))
    write("glue/STS-B/train.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n" + "".join(f"{i}\tmain-captions\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{sentence(5)}\t{sentence(5)}\t{rng.randint(0, 50) / 10:.3f}\n" for i in range(20)))
    mnli_head = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n"
    write("glue/MNLI/dev_matched.tsv", mnli_head + "".join(f"{i}\t{i}\t{i}e\tfiction\t( x )\t( y )\t(ROOT x)\t(ROOT y)\t{sentence(8)}\t{sentence(5)}\t{l}\t{l}\n" for i, l in enumerate(rng.choice(["entailment", "neutral", "contradiction"]) for _ in range(20))))
    write("glue/QNLI/train.tsv", "index\tquestion\tsentence\tlabel\n" + "".join(f"{i}\tWhat is {rng.choice(WORDS)}?\t{sentence(9)}\t{rng.choice(['entailment', 'not_entailment'])}\n" for i in range(20)))
    write("glue/RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n" + "".join(f"{i}\t{sentence(10)}\t{sentence(4)}\t{rng.choice(['entailment', 'not_entailment'])}\n" for i in range(20)))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
