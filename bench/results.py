"""Where each benchmark leaves its figures for `bench/report.py`: one JSON file per script under var/bench/."""

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent.parent / "var" / "bench"


def record(name: str, title: str, figures: dict[str, str | float | int], note: str = "") -> Path:
    """Write `figures` (measure -> value, in display order) for the bench `name`; prints them as one JSON line too."""
    result = {"name": name, "title": title, "figures": figures, "note": note}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, ensure_ascii=False))
    return path


def load_all(directory: Path = RESULTS_DIR) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]
