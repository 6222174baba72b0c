"""Training metrics: SageMaker MetricDefinitions for the trainer's log lines, and a parser of the
trainer's JSONL log (LLaMA-Factory trainer_log.jsonl, EasyR1 experiment_log.jsonl) into points.

Log lines the regexes read (stdout, hence CloudWatch):
  HF Trainer:        {'loss': 1.8123, 'grad_norm': 0.53, 'learning_rate': 2.4e-05, 'epoch': 0.08}
  newer HF Trainer:  {'loss': '1.812', 'grad_norm': '0.53', 'learning_rate': '2.4e-05', 'epoch': '0.08'}
  LLaMA-Factory:     {'loss': 1.8123, 'learning_rate': 2.4000e-05, 'epoch': 0.08, 'throughput': 1234.56}
  evaluation:        {'eval_loss': 1.1042, 'eval_runtime': 12.3, ..., 'epoch': 1.6}
  EasyR1 (YAML):     "  pg_loss: -0.0123", "  lr: 1.0e-06", "  reward_score: 0.5"
"""

from __future__ import annotations

import json
import math
import re

_NUM = r"(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"


def _python_dict_key(key: str) -> str:
    """A key in a printed Python/JSON dict (single or double quotes), value optionally quoted."""
    return rf"[{{,]\s*['\"]{re.escape(key)}['\"]:\s*['\"]?{_NUM}"


LLAMAFACTORY_METRICS = (
    ("loss", _python_dict_key("loss")),
    ("eval_loss", _python_dict_key("eval_loss")),
    ("learning_rate", _python_dict_key("learning_rate")),
    ("epoch", _python_dict_key("epoch")),
    ("grad_norm", _python_dict_key("grad_norm")),
)
# EasyR1's console logger prints each step as YAML of the nested metrics ("actor:\n  pg_loss: 0.01"), one
# CloudWatch line per leaf; the same names also match its flat JSON form ("actor/pg_loss": 0.01). The
# training reward (critic/score/mean) has no unique leaf name; it comes from experiment_log.jsonl.
def _easyr1_key(key: str) -> str:
    return rf"(?:^|[\s{{,'\"/]){re.escape(key)}['\"]?\s*[:=]\s*['\"]?{_NUM}"


EASYR1_METRICS = (
    ("loss", _easyr1_key("pg_loss")),
    ("learning_rate", _easyr1_key("lr")),
    ("kl_loss", _easyr1_key("kl_loss")),
    ("eval_reward", _easyr1_key("reward_score")),
)


def metric_definitions(job_type: str) -> list[dict]:
    """SageMaker AlgorithmSpecification.MetricDefinitions for a job type (≤40 entries, regex ≤500 chars)."""
    from apps.core.job_types import tool_for

    table = EASYR1_METRICS if tool_for(job_type) == "easyr1" else LLAMAFACTORY_METRICS
    return [{"Name": name, "Regex": regex} for name, regex in table]


# trainer_log.jsonl -------------------------------------------------------------------------------

POINT_KEYS = ("step", "total_steps", "loss", "eval_loss", "lr", "epoch", "percentage", "elapsed", "remaining",
              "reward", "eval_reward", "accuracy")
_EASYR1_KEYS = {
    "actor/pg_loss": "loss",
    "actor/lr": "lr",
    "critic/score/mean": "reward",
    "val/reward_score": "eval_reward",
}
_DURATION = re.compile(r"(?:(\d+) days?, )?(\d+):(\d{2}):(\d{2})(?:\.\d+)?")


def parse_duration(text) -> int | None:
    """"0:24:53" or "1 day, 2:03:04" (str(timedelta)) -> seconds."""
    if isinstance(text, int | float):
        return int(text)
    match = _DURATION.fullmatch(str(text or "").strip())
    if not match:
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def _number(value):
    """A finite number, or None (NaN/inf would make the API's JSON invalid)."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
    return value if math.isfinite(value) else None


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def parse_line(line: str) -> dict | None:
    """One log line -> a point with the POINT_KEYS it has, or None for anything unreadable."""
    try:
        raw = json.loads(line)
    except (ValueError, TypeError):
        return None
    if not isinstance(raw, dict):
        return None
    point: dict = {}
    if "current_steps" in raw:  # LLaMA-Factory
        point["step"] = raw.get("current_steps")
        for key in ("total_steps", "loss", "eval_loss", "lr", "epoch", "percentage", "reward", "accuracy"):
            if key in raw:
                point[key] = raw[key]
        for key in ("elapsed", "remaining"):
            seconds = parse_duration(raw.get(f"{key}_time"))
            if seconds is not None:
                point[key] = seconds
    elif "step" in raw:  # EasyR1 experiment_log.jsonl
        flat = _flatten(raw)
        point["step"] = flat.get("step")
        for source, key in _EASYR1_KEYS.items():
            if source in flat:
                point[key] = flat[source]
    else:
        return None
    step = _number(point.get("step"))
    if step is None or step < 0:
        return None
    point["step"] = int(step)
    for key in list(point):
        if key != "step":
            value = _number(point[key])
            if value is None:
                del point[key]
            else:
                point[key] = int(value) if key in ("total_steps", "elapsed", "remaining") else value
    return point


def parse_trainer_log(text: str) -> list[dict]:
    """All points of a trainer log, one per step, in step order.

    Tolerates a partial last line (the file is read while it is written) and junk lines. Training
    and evaluation lines of the same step merge into one point; after a resume the later line wins.
    """
    by_step: dict[int, dict] = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        point = parse_line(line)
        if point is not None:
            by_step.setdefault(point["step"], {}).update(point)
    return [by_step[step] for step in sorted(by_step)]


def progress(points: list[dict]) -> dict:
    """The latest progress in a parsed log: step, total_steps, percentage, remaining (seconds) when known."""
    latest: dict = {}
    for point in points:
        for key in ("step", "total_steps", "percentage", "elapsed", "remaining", "epoch"):
            if key in point:
                latest[key] = point[key]
    if "percentage" not in latest and latest.get("total_steps") and "step" in latest:
        latest["percentage"] = round(latest["step"] * 100 / latest["total_steps"], 2)
    return latest
