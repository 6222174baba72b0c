"""Read what LLaMA-Factory's evaluation runs leave in the output folder (pure: text in, plain dicts out).

Predict (`do_predict` + `predict_with_generate`): `predict_results.json` holds `predict_bleu-4`,
`predict_rouge-1`, `predict_rouge-2`, `predict_rouge-l` (percentages) beside runtime figures, and
`generated_predictions.jsonl` one `{"prompt", "predict", "label"}` line per row.
Benchmark (`llamafactory-cli eval`): `results.log` holds one `<category>: <accuracy %>` line per category
(LLaMA-Factory's SUBJECTS: Average, STEM, Social Sciences, Humanities, Other), `results.json` the
chosen letter per question per subject.
"""

from __future__ import annotations

import json

PREDICT_METRICS = ("bleu-4", "rouge-1", "rouge-2", "rouge-l")
SAMPLE_COUNT = 5
SAMPLE_CHARS = 2000  # a sample's text is cut here on the page and in the API


def predict_metrics(predict_results_json: str) -> dict[str, float]:
    """BLEU-4 / ROUGE from predict_results.json; metrics the run did not report are left out."""
    results = json.loads(predict_results_json)
    return {name: round(float(results[f"predict_{name}"]), 4) for name in PREDICT_METRICS
            if isinstance(results.get(f"predict_{name}"), (int, float))}


def prediction_samples(generated_predictions_jsonl: str, count: int = SAMPLE_COUNT) -> list[dict[str, str]]:
    """The first `count` complete rows as prompt / label / prediction; a torn or foreign line is skipped."""
    samples = []
    for line in generated_predictions_jsonl.splitlines():
        if len(samples) == count:
            break
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in ("prompt", "predict", "label")):
            continue
        samples.append({"prompt": row["prompt"][:SAMPLE_CHARS], "label": row["label"][:SAMPLE_CHARS],
                        "prediction": row["predict"][:SAMPLE_CHARS]})
    return samples


def benchmark_scores(results_log: str) -> dict[str, float]:
    """Accuracy (%) per category from results.log, in the file's order (Average first)."""
    scores = {}
    for line in results_log.splitlines():
        category, sep, value = line.rpartition(":")
        if not sep:
            continue
        try:
            scores[category.strip()] = float(value)
        except ValueError:
            continue
    return scores


def subject_answer_counts(results_json: str) -> dict[str, int]:
    """How many questions each subject answered (results.json: {subject: {index: letter}})."""
    return {subject: len(answers) for subject, answers in json.loads(results_json).items() if isinstance(answers, dict)}


def subject_accuracy(results_json: str, answers: dict[str, list[str]]) -> dict[str, float]:
    """Accuracy (%) per subject: results.json's chosen letters against the task's answers (in split order).
    A subject without answers is left out."""
    scores = {}
    for subject, chosen in json.loads(results_json).items():
        expected = answers.get(subject)
        if not expected or not isinstance(chosen, dict):
            continue
        correct = sum(chosen.get(str(i)) == answer for i, answer in enumerate(expected))
        scores[subject] = round(100 * correct / len(expected), 2)
    return scores
