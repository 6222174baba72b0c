"""Every override set the entry point adds on the command line, merged over every golden config the way the
tools merge them (OmegaConf dotlist over the YAML), still gives a config the tool accepts: LLaMA-Factory 0.9.4's
argument names, EasyR1 b44b311's config tree and start-up checks."""

from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from apps.jobs.renderers import llamafactory_schema as lf
from apps.jobs.renderers.easyr1_schema import flatten, leaf_type, startup_problems
from modelhub_train import commands

GOLDEN = Path(__file__).resolve().parents[1] / "jobs" / "golden"
CASES = sorted({p.parent for name in ("train.yaml", "easyr1.yaml") for p in GOLDEN.rglob(name)})


def override_sets(tool: str, config_path: str) -> list[list[str]]:
    """The argv tails the entry point can produce: plain, resumed, tracking off, both."""
    if tool == "easyr1":
        build = lambda resume, extra: commands.easyr1_train(config_path, resume, python="py", overrides=extra)  # noqa: E731
        resume, head = "/opt/ml/checkpoints/easyr1/global_step_40", 4  # after python -m verl.trainer.main config=
    else:
        build = lambda resume, extra: commands.llamafactory_train(config_path, resume, extra)  # noqa: E731
        resume, head = "/opt/ml/checkpoints/output/checkpoint-40", 3
    return [build(r, extra)[head:] for r in (None, resume) for extra in ((), commands.tracking_off(tool))]


def merged(config: dict, dotlist: list[str]) -> dict:
    return OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(config), OmegaConf.from_dotlist(dotlist)))


@pytest.mark.parametrize("case", CASES, ids=[str(c.relative_to(GOLDEN)) for c in CASES])
def test_override_sets_keep_configs_valid(case):
    if (case / "easyr1.yaml").is_file():
        config = yaml.safe_load((case / "easyr1.yaml").read_text())
        for dotlist in override_sets("easyr1", "/c/easyr1.yaml"):
            result = merged(config, dotlist)
            for key, value in flatten(result).items():
                types = leaf_type(key)
                assert types is not None and (isinstance(value, types) or value is None and type(None) in types), key
            assert startup_problems(result) == [], dotlist
    else:
        config = yaml.safe_load((case / "train.yaml").read_text())
        for dotlist in override_sets("llamafactory", "/c/train.yaml"):
            result = merged(config, dotlist)
            assert set(result) <= lf.HPARAM_KEYS, dotlist
            assert result["report_to"] in lf.REPORT_TO
