"""The images provide what the rendered configs point at, and start the entry point without a shell."""

import json
import re
from pathlib import Path

import pytest

from apps.jobs.renderers import context, easyr1_schema, llamafactory_schema
from apps.jobs.spec import BUILTIN_FORMAT_PROMPTS, BUILTIN_REWARDS

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def dockerfile(name):
    return (DOCKER / f"{name}.Dockerfile").read_text()


@pytest.mark.parametrize("name", ["llamafactory", "easyr1"])
def test_entrypoint_is_exec_form_and_base_is_pinned(name):
    text = dockerfile(name)
    entry = re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1)
    assert json.loads(entry) == ["python3", "-m", "modelhub_train"]  # JSON form: no /bin/sh -c
    base = re.search(r"^ARG \w+_IMAGE=(\S+)$", text, re.M).group(1)
    assert ":" in base and not base.endswith(":latest")
    assert "COPY docker/entrypoint /opt/modelhub/entrypoint" in text
    assert "PYTHONPATH=/opt/modelhub/entrypoint" in text
    assert not re.search(r"(?i)(api_key|secret|token|password)\s*=", text)


def test_llamafactory_image_has_every_deepspeed_config_we_render():
    text = dockerfile("llamafactory")
    for name in llamafactory_schema.DEEPSPEED_CONFIGS.values():
        assert f"test -f {context.LLAMAFACTORY_ROOT}/examples/deepspeed/{name}" in text
    assert f"test -f {context.LLAMAFACTORY_ROOT}/data/dataset_info.json" in text


def test_easyr1_image_has_every_builtin_reward_and_prompt():
    text = dockerfile("easyr1")
    assert f"{context.EASYR1_ROOT}/scripts/model_merger.py" in text
    for name in BUILTIN_REWARDS:
        assert f"test -f {context.EASYR1_ROOT}/examples/reward_function/{name}.py" in text
    for name in BUILTIN_FORMAT_PROMPTS:
        assert f"test -f {context.EASYR1_ROOT}/examples/format_prompt/{name}.jinja" in text
    assert re.search(r"^ARG EASYR1_COMMIT=[0-9a-f]{7,40}$", text, re.M)


def test_entrypoint_defaults_match_the_renderers():
    import modelhub_train.run as run

    assert run.CONFIG_DIR == context.CONFIG_DIR


def _pip_pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"\b([A-Za-z0-9_.-]+)==([0-9][A-Za-z0-9.+-]*)", text))


@pytest.mark.parametrize("name,schema", [("llamafactory", llamafactory_schema), ("easyr1", easyr1_schema)])
def test_images_install_and_import_every_package_the_form_offers(name, schema):
    text = dockerfile(name)
    pins = _pip_pins(text)
    for package, version in schema.IMAGE_PACKAGES.items():
        assert pins.get(package) == version, f"{name} image must pin {package}=={version}"
        assert re.search(rf"python3 -c \"import [^\"]*\b{schema.IMPORT_NAMES[package]}\b", text), \
            f"{name} image must import {schema.IMPORT_NAMES[package]} at build time"


def test_every_offered_booster_and_tracker_needs_only_installed_packages():
    from apps.jobs.spec import BOOSTERS, TRACKERS

    installed = set(llamafactory_schema.IMAGE_PACKAGES) | {"flash-attn"}  # flash-attn: the official base image
    needs = {"flash_attn2": "flash-attn", "liger": "liger-kernel", "swanlab": "swanlab", "wandb": "wandb",
             "tensorboard": "tensorboard"}
    for choice in (*BOOSTERS, *TRACKERS):
        if choice != "none":
            assert needs[choice] in installed, choice
    assert "bitsandbytes" in installed  # QLoRA


def test_images_pin_the_versions_the_spec_rules_were_recorded_from():
    assert re.search(rf"^ARG LLAMAFACTORY_IMAGE=hiyouga/llamafactory:{llamafactory_schema.VERSION}$",
                     dockerfile("llamafactory"), re.M)
    assert f"__version__ == '{llamafactory_schema.VERSION}'" in dockerfile("llamafactory")
    assert re.search(rf"^ARG EASYR1_COMMIT={easyr1_schema.COMMIT}$", dockerfile("easyr1"), re.M)
