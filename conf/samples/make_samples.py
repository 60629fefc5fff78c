#!/usr/bin/env python3
"""Writes the bundled sample shards used by conf/quickstart.conf (deterministic; plain python3).

Commonsense170K-shaped BoolQ-style records whose answer follows a rule the built-in model can pick up in a few
minutes on a laptop: "is A greater than B?" over single digits. Regenerate with: python3 conf/samples/make_samples.py
"""
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(7)


def record():
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    while a == b:
        b = rng.randint(0, 9)
    answer = "true" if a > b else "false"
    return {"instruction": f"Please answer the following question with true or false, question: is {a} greater than"
                           f" {b}?\n\nAnswer format: true/false",
            "input": "", "output": f"the correct answer is {answer}", "answer": answer}


for name, n in (("commonsense_train.json", 512), ("commonsense_eval.json", 32)):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump([record() for _ in range(n)], f, indent=2)
        f.write("\n")
print("wrote", HERE)
