"""Command lines are argv lists: a hostile value stays one argument and is never interpreted."""

import subprocess
import sys

import pytest

from modelhub_train import commands


def test_llamafactory_argv():
    assert commands.llamafactory_train("/cfg/train.yaml") == ["llamafactory-cli", "train", "/cfg/train.yaml"]
    assert commands.llamafactory_train("/cfg/train.yaml", "/ck/checkpoint-20")[-1] == \
        "resume_from_checkpoint=/ck/checkpoint-20"
    assert commands.llamafactory_export("/cfg/merge.yaml") == ["llamafactory-cli", "export", "/cfg/merge.yaml"]


def test_easyr1_argv():
    argv = commands.easyr1_train("/cfg/easyr1.yaml", "/ck/easyr1/global_step_40", python="python3")
    assert argv == ["python3", "-m", "verl.trainer.main", "config=/cfg/easyr1.yaml",
                    "trainer.load_checkpoint_path=/ck/easyr1/global_step_40"]
    assert commands.easyr1_merge("/opt/easyr1", "/ck/global_step_40/actor", python="python3") == [
        "python3", "/opt/easyr1/scripts/model_merger.py", "--local_dir", "/ck/global_step_40/actor"]
    with pytest.raises(ValueError):
        commands.easyr1_merge("/opt/easyr1", "/ck/global_step_40/actor/huggingface")


def test_ray_argv():
    assert commands.ray_head(6379, 8) == ["ray", "start", "--head", "--port=6379", "--num-gpus=8", "--disable-usage-stats"]
    assert commands.ray_worker("algo-1", 6379, 4)[2] == "--address=algo-1:6379"


def test_hostile_path_is_one_argument_and_not_run(tmp_path):
    hostile = str(tmp_path / "x; touch pwned $(touch pwned2)")
    argv = commands.llamafactory_train(hostile)
    # Run it the way run.py does (no shell), with a stand-in for llamafactory-cli that echoes its argv.
    out = subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1:])", *argv[1:]],
                         capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert out.strip() == str(["train", hostile])
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_tracking_off_overrides():
    assert commands.tracking_off("llamafactory") == ["report_to=none", "use_swanlab=false"]
    assert commands.tracking_off("easyr1") == ["trainer.logger=[console,file]"]
    argv = commands.easyr1_train("/c.yaml", "/ck/global_step_2", python="py", overrides=commands.tracking_off("easyr1"))
    assert argv == ["py", "-m", "verl.trainer.main", "config=/c.yaml", "trainer.logger=[console,file]",
                    "trainer.load_checkpoint_path=/ck/global_step_2"]


def test_overrides_parse_as_the_tools_parse_them():
    """Both tools read `key=value` overrides with OmegaConf's dotlist parser."""
    from omegaconf import OmegaConf

    lf = commands.llamafactory_train("/c.yaml", "/ck/checkpoint-10", commands.tracking_off("llamafactory"))
    parsed = OmegaConf.to_container(OmegaConf.from_dotlist(lf[3:]))
    assert parsed == {"report_to": "none", "use_swanlab": False, "resume_from_checkpoint": "/ck/checkpoint-10"}
    r1 = commands.easyr1_train("/c.yaml", "/ck/global_step_2", python="py", overrides=commands.tracking_off("easyr1"))
    parsed = OmegaConf.to_container(OmegaConf.from_dotlist(r1[3:]))
    assert parsed == {"config": "/c.yaml", "trainer": {"logger": ["console", "file"],
                                                       "load_checkpoint_path": "/ck/global_step_2"}}
