"""The real LLaMA-Factory argument parser, at the version the training image pins, over every golden training
config and a sample of generated specs. It runs in the local target's ML environment (LOCAL_PYTHON,
`make local-env`, .venv-local), never in the web venv; without it the test skips and says why.

It fails when a renderer emits a key or value LLaMA-Factory refuses, and when the recorded vocabulary
(apps/jobs/renderers/llamafactory_schema.py) no longer matches the installed version's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings

from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.renderers import render_job_bundle

from .spec_space import llamafactory_spec
from .test_render_properties import accepted_spec, world  # noqa: F401 (world: the fixture)

GOLDEN = Path(__file__).parent / "golden"
HELPER = Path(__file__).parent / "llamafactory_parse.py"
ENTRYPOINT = Path(__file__).resolve().parents[2] / "docker" / "entrypoint"
SAMPLED_SPECS = 40


def local_python() -> str:
    """The ML environment's interpreter (LOCAL_PYTHON), or a skip saying what is missing."""
    python = os.environ.get("LOCAL_PYTHON") or getattr(settings, "LOCAL_PYTHON", "") or str(
        Path(settings.BASE_DIR) / ".venv-local" / "bin" / "python")
    if not Path(python).is_file():
        pytest.skip(f"no LLaMA-Factory environment at {python}: run `make local-env` (or set LOCAL_PYTHON)")
    probe = subprocess.run([python, "-c", "import llamafactory; print(llamafactory.__version__)"],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode:
        pytest.skip(f"{python} cannot import llamafactory: {probe.stderr.strip().splitlines()[-1:]}")
    if probe.stdout.strip() != lf.VERSION:
        pytest.fail(f"{python} has LLaMA-Factory {probe.stdout.strip()}, the image pins {lf.VERSION}")
    return python


def parse(python: str, train: dict, export: dict, evaluate: dict | None = None, extra_packages=()) -> dict:
    request = {"train": train, "export": export, "eval": evaluate or {},
               "image_packages": sorted({*lf.IMAGE_PACKAGES, *extra_packages})}
    done = subprocess.run([python, str(HELPER)], input=json.dumps(request), capture_output=True, text=True,
                          timeout=900, env={**os.environ, "DISABLE_VERSION_CHECK": "1"})  # as in the image
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def golden_configs() -> tuple[dict, dict]:
    train, export = {}, {}
    for case in sorted(p.parent for p in GOLDEN.rglob("train.yaml")):
        name = str(case.relative_to(GOLDEN))
        train[name] = yaml.safe_load((case / "train.yaml").read_text())
        if (case / "merge.yaml").is_file():
            export[f"{name}/merge"] = yaml.safe_load((case / "merge.yaml").read_text())
    return train, export


def with_entrypoint_overrides(train: dict) -> dict:
    """Each golden config with what the entry point may add on the command line (a resume, tracking off),
    merged as `llamafactory-cli train` merges it (OmegaConf dotlist over the YAML)."""
    from omegaconf import OmegaConf

    if str(ENTRYPOINT) not in sys.path:  # the training image's entry point package (as tests/docker/conftest.py)
        sys.path.insert(0, str(ENTRYPOINT))
    from modelhub_train import commands

    tail = commands.llamafactory_train("/c.yaml", "/opt/ml/checkpoints/output/checkpoint-40",
                                       commands.tracking_off("llamafactory"))[3:]
    return {f"{name}+overrides": OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(config),
                                                                         OmegaConf.from_dotlist(tail)))
            for name, config in train.items()}


def sampled_configs(world) -> dict:
    from .test_render_golden import CONTEXT, dataset_refs

    configs = {}

    @hsettings(max_examples=SAMPLED_SPECS * 2, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))
    @given(data=llamafactory_spec())
    def collect(data):
        spec = accepted_spec(world, data)
        files = render_job_bundle(spec, {**CONTEXT, "datasets": dataset_refs(spec.job_type)})
        if len(configs) < SAMPLED_SPECS:
            configs[f"sampled-{len(configs)}-{spec.job_type}-{spec.finetuning_method}"] = yaml.safe_load(files["train.yaml"])

    collect()
    drawn = list(configs.values())
    assert any(c["finetuning_type"] == "freeze" for c in drawn), "the sample must cover freeze tuning"
    assert any(c.get("use_galore") or c.get("use_apollo") or c.get("use_badam") for c in drawn), \
        "the sample must cover a memory-saving optimizer"
    assert any(c.get("use_dora") or c.get("pissa_init") or c.get("loraplus_lr_ratio") for c in drawn), \
        "the sample must cover a LoRA variant"
    return configs


@pytest.mark.django_db
def test_real_llamafactory_parser_accepts_every_rendered_config(world):
    python = local_python()
    train, export = golden_configs()
    assert len(train) >= 20
    train.update(with_entrypoint_overrides(train))
    train.update(sampled_configs(world))
    answer = parse(python, train, export)
    refused = {name: result for name, result in answer["results"].items() if result != "ok"}
    assert not refused, json.dumps(refused, indent=1)
    assert set(answer["results"]) == set(train) | set(export)
    # The recorded vocabulary is the installed version's.
    assert answer["version"] == lf.VERSION
    assert set(answer["templates"]) == set(lf.TEMPLATES)
    unknown = lf.HPARAM_KEYS - set(answer["argument_names"])
    assert not unknown, f"recorded argument names LLaMA-Factory {lf.VERSION} lacks: {sorted(unknown)}"


@pytest.mark.django_db
def test_the_real_parser_refuses_what_the_spec_refuses(world):
    """The check bites: configs the spec never renders are refused by the real parser."""
    python = local_python()
    base = yaml.safe_load((GOLDEN / "sft-lora" / "train.yaml").read_text())
    bad = {
        "typo": {**base, "lora_rnak": 8},
        "adapter-on-full": {**base, "finetuning_type": "full", "adapter_name_or_path": "/tmp/adapter"},
        "qlora-full": {**base, "finetuning_type": "full", "quantization_bit": 4},
        "ppo-eval": {**base, "stage": "ppo", "reward_model": "x/y", "val_size": 0.1, "eval_strategy": "steps",
                     "eval_steps": 10, "do_train": False},
        # Issue #16's options: each combination the spec refuses (tests/jobs/test_spec_fidelity.py)
        "galore-on-lora": {**base, "use_galore": True},
        "galore-and-badam": {**base, "finetuning_type": "full", "use_galore": True, "use_badam": True},
        "pissa-on-qlora": {**base, "pissa_init": True, "quantization_bit": 4},
        "pissa-for-kto": {**base, "stage": "kto", "pissa_init": True},
        "dora-on-freeze": {**base, "finetuning_type": "freeze", "use_dora": True},
        "neat-packing": {**base, "neat_packing": True},  # refused on the image's transformers (>= 4.53)
    }
    answer = parse(python, bad, {})
    accepted = sorted(name for name, result in answer["results"].items() if result == "ok")
    assert not accepted, f"the real parser accepted {accepted}"
