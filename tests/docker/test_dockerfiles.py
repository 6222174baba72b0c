"""The images provide what the rendered configs point at, and start the entry point without a shell."""

import json
import re
from pathlib import Path

import pytest

from apps.jobs.renderers import context, llamafactory_schema
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
