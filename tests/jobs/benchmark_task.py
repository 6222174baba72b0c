"""A tiny multiple-choice task folder in the layout LLaMA-Factory's evaluator reads with datasets 4
(no loading script): `<task>/mapping.json` ({subject: {name, category}}) and, per subject, CSV splits named
in README.md's `configs` (question, A, B, C, D, answer). `<task>_test` evaluates the test split with the
train split as the few-shot pool."""

from __future__ import annotations

import csv
import json
from pathlib import Path

SUBJECTS = {"arithmetic": ("Arithmetic", "STEM"), "geography": ("Geography", "Social Sciences")}
QUESTIONS = {
    "arithmetic": [("1 + 1 =", "2", "3", "4", "5", "A"), ("2 + 2 =", "3", "4", "5", "6", "B"),
                   ("3 + 3 =", "5", "7", "6", "9", "C")],
    "geography": [("The capital of France is", "Rome", "Paris", "Oslo", "Bern", "B"),
                  ("The largest ocean is the", "Atlantic", "Indian", "Arctic", "Pacific", "D"),
                  ("Mount Everest is in", "Asia", "Europe", "Africa", "Oceania", "A")],
}


def build_task(root: Path, task: str = "tiny") -> Path:
    folder = root / task
    folder.mkdir(parents=True)
    mapping = {subject: {"name": name, "category": category} for subject, (name, category) in SUBJECTS.items()}
    (folder / "mapping.json").write_text(json.dumps(mapping))
    configs = []
    for subject, rows in QUESTIONS.items():
        for split, part in (("train", rows[:1]), ("test", rows[1:])):
            with open(folder / f"{subject}_{split}.csv", "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["question", "A", "B", "C", "D", "answer"])
                writer.writerows(part)
        configs.append(f"- config_name: {subject}\n  data_files:\n"
                       f"  - split: train\n    path: {subject}_train.csv\n"
                       f"  - split: test\n    path: {subject}_test.csv\n")
    (folder / "README.md").write_text("---\nconfigs:\n" + "".join(configs) + "---\n")
    return root
