"""The GRPO family's built-in rewards and format prompts, for TRL runs on the local target.

They follow EasyR1's built-ins of the same names (what the training image uses on SageMaker):
  math  "batch"      format: <think>…</think> then \\boxed{…}; accuracy: the boxed answer equals the
                     ground truth; overall = 0.9·accuracy + 0.1·format
  r1v   "sequential" format: <think>…</think><answer>…</answer>; accuracy on the answer tag;
                     overall = 0.5·accuracy + 0.5·format
  dapo  "batch"      +1 / -1 on the "Answer: …" line, minus a penalty for responses running into the
                     last `overlong_buffer_length` tokens of `max_response_length`
Answers compare after normalisation (spaces, $, trailing period, numeric equality); EasyR1 uses the
`mathruler` grader, which also understands LaTeX expressions: those may score lower here.
Runs in the ML environment; imports nothing from Django.
"""

from __future__ import annotations

import importlib.util
import re
from fractions import Fraction

FORMAT_PROMPTS = {
    "math": ("{{ content | trim }} You FIRST think about the reasoning process as an internal monologue and then "
             "provide the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
             "The final answer MUST BE put in \\boxed{}."),
    "r1v": ("{{ content | trim }} You FIRST think about the reasoning process as an internal monologue and then "
            "provide the final answer. The reasoning process MUST BE enclosed within <think> </think> tags. "
            "The final answer MUST BE enclosed within <answer> </answer> tags."),
    "dapo": ("Solve the following math problem step by step. The last line of your response should be of the form "
             "Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n{{ content | trim }}\n\n"
             "Remember to put your answer on its own line after \"Answer:\"."),
}

_MATH_FORMAT = re.compile(r"<think>.*</think>.*\\boxed\{.*\}.*", re.DOTALL)
_R1V_FORMAT = re.compile(r"<think>.*?</think>\s*<answer>.*?</answer>", re.DOTALL)
_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_ANSWER_LINE = re.compile(r"Answer\s*:\s*([^\n]+)", re.IGNORECASE)


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{…}, braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 0, start + len("\\boxed{") - 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return None


def normalize(answer: str) -> str:
    text = answer.strip().rstrip(".").strip().strip("$").strip().rstrip(".").replace(" ", "").replace("\\!", "")
    text = re.sub(r"\\text\{(.*?)\}", r"\1", text)
    return text.lower()


def same_answer(given: str | None, truth: str) -> bool:
    if given is None:
        return False
    a, b = normalize(given), normalize(str(truth))
    if a == b:
        return True
    try:
        return Fraction(a.replace(",", "")) == Fraction(b.replace(",", ""))
    except (ValueError, ZeroDivisionError):
        return False


def math_score(reward_inputs: list[dict], format_weight: float = 0.1) -> list[dict]:
    scores = []
    for item in reward_inputs:
        response = re.sub(r"\s*(<|>|/)\s*", r"\1", item["response"])  # as EasyR1: tolerate spaced tags
        fmt = 1.0 if _MATH_FORMAT.fullmatch(response) else 0.0
        acc = 1.0 if same_answer(last_boxed(response), item["ground_truth"]) else 0.0
        scores.append({"overall": (1 - format_weight) * acc + format_weight * fmt, "format": fmt, "accuracy": acc})
    return scores


def r1v_score(reward_input: dict, format_weight: float = 0.5) -> dict:
    response = reward_input["response"]
    fmt = 1.0 if _R1V_FORMAT.search(response) else 0.0
    found = _ANSWER_TAG.search(response)
    acc = 1.0 if same_answer(found.group(1) if found else None, reward_input["ground_truth"]) else 0.0
    return {"overall": (1 - format_weight) * acc + format_weight * fmt, "format": fmt, "accuracy": acc}


def dapo_score(reward_inputs: list[dict], max_response_length: int = 2048, overlong_buffer_length: int = 512,
               overlong_penalty_factor: float = 1.0) -> list[dict]:
    scores = []
    for item in reward_inputs:
        lines = _ANSWER_LINE.findall(item["response"][-300:])
        acc = 1.0 if lines and same_answer(lines[-1], item["ground_truth"]) else 0.0
        expected = max_response_length - overlong_buffer_length
        over = item.get("response_length", 0) - expected
        penalty = min(-over / overlong_buffer_length * overlong_penalty_factor, 0.0) if over > 0 else 0.0
        scores.append({"overall": (1.0 if acc else -1.0) + penalty, "accuracy": acc, "overlong_penalty": penalty})
    return scores


BUILTIN = {"math": ("batch", math_score), "r1v": ("sequential", r1v_score), "dapo": ("batch", dapo_score)}


def load(reward: dict):
    """(type, compute_score) of a built-in or a custom reward module (REWARD_TYPE, compute_score)."""
    if reward["name"] != "custom":
        return BUILTIN[reward["name"]]
    spec = importlib.util.spec_from_file_location("modelhub_custom_reward", reward["path"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "REWARD_TYPE", "batch"), module.compute_score


def score(kind: str, compute, inputs: list[dict], kwargs: dict) -> list[dict]:
    if kind == "sequential":
        return [compute(item, **kwargs) for item in inputs]
    return list(compute(inputs, **kwargs))
