#!/usr/bin/env python3
"""Writes the bundled sample shards (deterministic; plain python3). Regenerate with: python3 conf/samples/make_samples.py

arith_train.json, arith_eval.json (conf/quickstart.conf): word problems in MetaMathQA's schema, answered the way
MetaMathQA answers (the story retold, the sum worked, "The answer is: X") and scored like GSM8K, on the sums
builtin:arith-llama learnt in pretraining (adapters/src/test/python/pretrain_arith_llama.py) from equations and
stories ("Tom has 47 apples. Tom buys 38 more apples. 47 + 38 = 85."); here they are asked as questions, in
Alpaca's template, with three verbs out of four the pretraining corpus never has ("Then Tom gives away 38 apples.
How many apples does Tom have left?"), and answered with a line it never saw ("The answer is: 9"). Fine-tuning
teaches the format and the verbs; the sums come from pretraining. (Answers that start with the sum, "47 - 38 = 9.
The answer is: 9", were tried first: the model must then find the first operand with nothing to cue it, and HF
PEFT LoRA on this base after its first two pretraining stages answered 1 in 100 after 300 steps; retold, the
numbers are found by what precedes them.)

commonsense_train.json, commonsense_eval.json (tests and examples): Commonsense170K-shaped BoolQ-style records
whose answer follows a rule: "is A greater than B?" over single digits.
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


NAMES = ["Tom", "Anna", "Ben", "Mia", "Leo", "Sara", "Max", "Lily", "Sam", "Emma", "Jack", "Nora"]
THINGS = ["apples", "pears", "books", "coins", "stamps", "marbles", "shells", "cards", "pens", "eggs"]
ASKS = [("+", "{n} buys {b} more {t}.", "now"), ("+", "{n} gets {b} {t} from {o}.", "now"),
        ("-", "{n} gives away {b} {t}.", "left"), ("-", "{n} loses {b} {t}.", "left")]


def word_problem(r):
    n, o = r.sample(NAMES, 2)
    t = r.choice(THINGS)
    op, then, when = r.choice(ASKS)
    a, b = r.randint(0, 99), r.randint(0, 99)
    if op == "-":
        a, b = max(a, b), min(a, b)
    c = a + b if op == "+" else a - b
    told = then.format(n=n, b=b, t=t, o=o)
    query = f"{n} has {a} {t}. Then {told} How many {t} does {n} have {when}?"
    # the answer retells the story, then works the sum, then answers (as MetaMathQA's answers do)
    response = f"{n} has {a} {t}. {told} {a} {op} {b} = {c}. The answer is: {c}"
    return {"query": query, "response": response, "type": "arith_" + when, "original_question": query}


math_rng = random.Random(11)
seen = set()  # the eval questions are not in the training file (same numbers, names and verbs do recur)
for name, n in (("arith_train.json", 2000), ("arith_eval.json", 100)):
    records = []
    while len(records) < n:
        r = word_problem(math_rng)
        if name == "arith_train.json" or r["query"] not in seen:
            seen.add(r["query"])
            records.append(r)
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(records, f, indent=1)
        f.write("\n")

for name, n in (("commonsense_train.json", 512), ("commonsense_eval.json", 32)):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump([record() for _ in range(n)], f, indent=2)
        f.write("\n")
print("wrote", HERE)
