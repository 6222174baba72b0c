"""Run LLaMA-Factory's own argument parser over rendered configs (run by LOCAL_PYTHON, not the web venv).

stdin: {"train": {name: config}, "export": {name: config}, "eval": {name: config}, "image_packages": [...]}
stdout (last line): {"version", "templates", "argument_names", "results": {name: "ok" | error}, "dropped": {...}}

`get_train_args` / `get_infer_args` / `get_eval_args` are what `llamafactory-cli train` / `export` / `eval` call
on the YAML. Three
things depend on the machine rather than the config, and are set aside here (each checked elsewhere):
`bf16` / `fp16` (the parser asks the device whether it supports them; the spec checks the GPU),
`deepspeed` (needs the deepspeed package and a torchrun launch; tests/jobs check the config file name),
and the start-up version checks of packages the training image installs (tests/docker checks the pins).
"""

import dataclasses
import json
import re
import sys
import tempfile

DEVICE_KEYS = ("bf16", "fp16", "deepspeed")


def main() -> None:
    request = json.load(sys.stdin)
    import llamafactory
    from llamafactory.data.template import TEMPLATES
    from llamafactory.hparams import (
        DataArguments, FinetuningArguments, GeneratingArguments, ModelArguments, TrainingArguments, get_eval_args,
        get_infer_args, get_train_args,
    )
    from llamafactory.hparams import parser as lf_parser

    installed_by_image = {_canonical(name) for name in request.get("image_packages", [])}
    real_check_version = lf_parser.check_version

    def check_version(requirement: str, mandatory: bool = False) -> None:
        if _canonical(re.split(r"[<>=!~ ]", requirement, maxsplit=1)[0]) in installed_by_image:
            return
        real_check_version(requirement, mandatory)

    lf_parser.check_version = check_version
    results, dropped = {}, {}
    for name, config in request.get("train", {}).items():
        config = dict(config)
        dropped[name] = [k for k in DEVICE_KEYS if config.pop(k, None) is not None]
        with tempfile.TemporaryDirectory() as out:
            config["output_dir"] = out
            results[name] = _run(get_train_args, config)
    for name, config in request.get("export", {}).items():
        with tempfile.TemporaryDirectory() as out:
            results[name] = _run(get_infer_args, {**config, "export_dir": out})
    for name, config in request.get("eval", {}).items():
        with tempfile.TemporaryDirectory() as out:  # the evaluator refuses a save_dir that exists
            results[name] = _run(get_eval_args, {**config, "save_dir": f"{out}/results"})
    names = sorted({f.name for cls in (ModelArguments, DataArguments, TrainingArguments, FinetuningArguments,
                                       GeneratingArguments) for f in dataclasses.fields(cls)})
    print(json.dumps({"version": llamafactory.__version__, "templates": sorted(TEMPLATES),
                      "argument_names": names, "results": results, "dropped": dropped}))


def _canonical(name: str) -> str:
    """A distribution name as pip compares them (galore_torch == galore-torch)."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _run(parse, config) -> str:
    try:
        parse(config)
    except BaseException as exc:  # the parser raises ValueError, argparse exits: both mean "refused"
        return f"{type(exc).__name__}: {exc}"
    return "ok"


if __name__ == "__main__":
    main()
