"""The entry point end to end: a bundle rendered by the real renderers, staged in S3 (moto), run by
`modelhub_train.run.main` against stand-in trainers (tests/docker/fakes) that check what they were
given and write what the real tools write."""

import json
import os
import shutil
import signal
import stat
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from apps.jobs.renderers import render_job_bundle
from apps.jobs.renderers.context import DatasetRef
from apps.jobs.spec import TrainingSpec, defaults_for
from modelhub_train import checkpoints, run

FAKES = Path(__file__).parent / "fakes"
BUCKET = "modelhub-test"
JOB = f"s3://{BUCKET}/jobs/mh-e2e-1/"


@pytest.fixture
def s3(monkeypatch):
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """Container paths under tmp_path, a fake llamafactory-cli on PATH, fake EasyR1 checkout."""
    paths = {name: str(tmp_path / name) for name in ("config", "data", "base_model", "reward_model", "resume",
                                                     "checkpoints", "export")}
    lf_root, r1_root, bin_dir = tmp_path / "lf", tmp_path / "easyr1", tmp_path / "bin"
    (lf_root / "data").mkdir(parents=True)
    (lf_root / "data" / "dataset_info.json").write_text(json.dumps({"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}}))
    (lf_root / "data" / "alpaca_en_demo.json").write_text("[]")
    (r1_root / "scripts").mkdir(parents=True)
    shutil.copy(FAKES / "model_merger.py", r1_root / "scripts" / "model_merger.py")
    (r1_root / "examples" / "reward_function").mkdir(parents=True)
    (r1_root / "examples" / "reward_function" / "math.py").write_text("REWARD_TYPE = 'batch'\n")
    bin_dir.mkdir()
    cli = bin_dir / "llamafactory-cli"
    cli.write_text(f"#!{sys.executable}\nimport runpy, sys\nrunpy.run_path({str(FAKES / 'llamafactory_cli.py')!r}, "
                   "run_name='__main__')\n")
    cli.chmod(cli.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTHONPATH", f"{FAKES}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("FAKE_CALLS", str(tmp_path / "calls.jsonl"))
    monkeypatch.setattr(run, "FAILURE_FILE", str(tmp_path / "failure"))
    monkeypatch.setattr(run, "SAGEMAKER_CHECKPOINT_CONFIG", str(tmp_path / "checkpointconfig.json"))
    (tmp_path / "checkpointconfig.json").write_text("{}")  # SageMaker syncs /opt/ml/checkpoints itself
    old_handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    context = {
        "job_id": 1, "job_name": "mh-e2e-1", "output_uri": JOB, "config_dir": paths["config"],
        "data_dir": paths["data"], "model_dir": paths["base_model"], "reward_model_dir": paths["reward_model"],
        "resume_dir": paths["resume"], "checkpoint_dir": paths["checkpoints"], "export_dir": paths["export"],
        "llamafactory_root": str(lf_root), "easyr1_root": str(r1_root),
    }
    yield tmp_path, context
    signal.signal(signal.SIGTERM, old_handlers[0])
    signal.signal(signal.SIGINT, old_handlers[1])


def spec(job_type="sft", **extra):
    return TrainingSpec.from_dict({**defaults_for(job_type), "job_type": job_type, "base_model": "Qwen/Qwen3-0.6B",
                                   "base_model_source": "hf", "base_model_uri": "Qwen/Qwen3-0.6B", "datasets": [1],
                                   **extra})


def stage_job(s3, the_spec, context, datasets):
    for key, body in {"datasets/ds-chat-1/staged/mh_1_chat.jsonl": b'{"instruction": "hi", "output": "hello"}\n',
                      "datasets/ds-math-2/staged/easyr1/train.jsonl": b'{"problem": "1+1", "answer": "2"}\n',
                      "datasets/ds-math-2/staged/easyr1/val.jsonl": b'{"problem": "2+2", "answer": "4"}\n'}.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    files = render_job_bundle(the_spec, {**context, "datasets": datasets})
    for name, text in files.items():
        s3.put_object(Bucket=BUCKET, Key=f"jobs/mh-e2e-1/config/{name}", Body=text.encode())
    return {"MODELHUB_CONFIG_URI": JOB + "config/", "MODELHUB_CONFIG_DIR": context["config_dir"],
            "MODELHUB_CHECKPOINT_URI": JOB + "checkpoints/"}


def keys(s3, prefix):
    return sorted(o["Key"][len(prefix):] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def calls(tmp_path):
    path = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


CHAT = DatasetRef("mh_1_chat", f"s3://{BUCKET}/datasets/ds-chat-1/staged/", {"file_name": "mh_1_chat.jsonl"})


def test_qlora_sft_trains_merges_and_uploads(s3, sandbox):
    tmp_path, context = sandbox
    env = stage_job(s3, spec(finetuning_method="qlora", quantization_bit=4), context,
                    [CHAT, DatasetRef("alpaca_en_demo")])
    assert run.main(env) == 0, (tmp_path / "failure").read_text() if (tmp_path / "failure").exists() else ""

    train, export = calls(tmp_path)
    assert train["argv"] == ["train", f"{context['config_dir']}/train.yaml"]
    assert train["force_torchrun"] == "1" and export["force_torchrun"] == "0"
    assert export["argv"] == ["export", f"{context['config_dir']}/merge.yaml"]
    assert keys(s3, "jobs/mh-e2e-1/model/") == ["adapter_config.json", "adapter_model.safetensors", "trainer_log.jsonl"]
    assert keys(s3, "jobs/mh-e2e-1/merged/") == ["config.json", "model.safetensors"]
    output = Path(context["checkpoint_dir"], "output")
    for name in ("checkpoint-5", "checkpoint-10"):  # finished checkpoints are marked resumable
        assert (output / name / checkpoints.marker_name("localhost")).exists()
    info = json.loads(Path(context["data_dir"], "dataset_info.json").read_text())
    assert info["alpaca_en_demo"]["file_name"] == f"{context['llamafactory_root']}/data/alpaca_en_demo.json"


def test_resumes_from_newest_complete_checkpoint(s3, sandbox):
    tmp_path, context = sandbox
    output = Path(context["checkpoint_dir"], "output")
    for step, complete in ((3, True), (4, False)):  # as SageMaker restored them after a spot interruption
        folder = output / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "trainer_state.json").write_text("{}")
        if complete:
            (folder / checkpoints.marker_name("localhost")).touch()
    env = stage_job(s3, spec(finetuning_method="full"), context, [CHAT])
    assert run.main(env) == 0
    (train,) = calls(tmp_path)  # full fine-tuning: nothing to merge
    assert train["argv"][-1] == f"resume_from_checkpoint={output}/checkpoint-3"
    assert train["existing_checkpoints"] == ["checkpoint-3"]  # the half-written checkpoint-4 was discarded
    assert keys(s3, "jobs/mh-e2e-1/merged/") == []


def test_given_checkpoint_is_downloaded_when_there_is_no_own_one(s3, sandbox):
    tmp_path, context = sandbox
    s3.put_object(Bucket=BUCKET, Key="jobs/old/checkpoints/output/checkpoint-7/trainer_state.json", Body=b"{}")
    env = stage_job(s3, spec(resume_from_checkpoint=f"s3://{BUCKET}/jobs/old/checkpoints/output/checkpoint-7/"),
                    context, [CHAT])
    assert run.main(env) == 0
    assert calls(tmp_path)[0]["argv"][-1] == f"resume_from_checkpoint={context['resume_dir']}/checkpoint-7"
    assert Path(context["resume_dir"], "checkpoint-7", "trainer_state.json").exists()


def test_training_failure_is_reported_and_nothing_uploaded(s3, sandbox, monkeypatch):
    tmp_path, context = sandbox
    monkeypatch.setenv("FAKE_FAIL", "1")
    env = stage_job(s3, spec(), context, [CHAT])
    assert run.main(env) == 1
    reason = (tmp_path / "failure").read_text()
    assert "LLaMA-Factory training exited with code 3" in reason and "CUDA out of memory" in reason
    assert [c["cmd"] for c in calls(tmp_path)] == ["train"]
    assert keys(s3, "jobs/mh-e2e-1/model/") == []


def test_missing_tracker_key_trains_without_tracking(s3, sandbox, monkeypatch):
    tmp_path, context = sandbox
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    env = stage_job(s3, spec(tracker="wandb", tracker_key_ref="w", tracker_project="p"), context, [CHAT])
    assert run.main(env) == 0
    train = calls(tmp_path)[0]
    assert train["argv"] == ["train", f"{context['config_dir']}/train.yaml", "report_to=none", "use_swanlab=false"]


def test_tracker_key_present_keeps_tracking(s3, sandbox):
    tmp_path, context = sandbox
    env = stage_job(s3, spec(tracker="wandb", tracker_key_ref="w", tracker_project="p"), context, [CHAT])
    assert run.main({**env, "WANDB_API_KEY": "k" * 40}) == 0
    assert calls(tmp_path)[0]["argv"] == ["train", f"{context['config_dir']}/train.yaml"]


def test_without_managed_sync_the_entry_point_syncs_checkpoints_itself(s3, sandbox):
    tmp_path, context = sandbox
    (tmp_path / "checkpointconfig.json").unlink()
    env = stage_job(s3, spec(), context, [CHAT])
    assert run.main(env) == 0
    synced = keys(s3, "jobs/mh-e2e-1/checkpoints/")
    assert "output/trainer_log.jsonl" in synced
    assert f"output/checkpoint-10/{checkpoints.marker_name('localhost')}" in synced


def test_grpo_custom_reward_trains_and_exports_huggingface(s3, sandbox):
    tmp_path, context = sandbox
    math = DatasetRef("mh_2_math", f"s3://{BUCKET}/datasets/ds-math-2/staged/", {"file_name": "mh_2_math.jsonl"}, {
        "train_files": f"{context['data_dir']}/mh_2_math/easyr1/train.jsonl@train",
        "val_files": f"{context['data_dir']}/mh_2_math/easyr1/val.jsonl@train",
        "prompt_key": "problem", "answer_key": "answer"})
    code = 'REWARD_TYPE = "batch"\ndef compute_score(inputs):\n    return []\n'
    env = stage_job(s3, spec("grpo", reward_function="custom", reward_code=code, gpus_per_node=4), context, [math])
    assert run.main(env) == 0, (tmp_path / "failure").read_text() if (tmp_path / "failure").exists() else ""
    train, merge = calls(tmp_path)
    assert train["argv"] == [f"config={context['config_dir']}/easyr1.yaml"]
    root = f"{context['checkpoint_dir']}/easyr1"
    assert merge["argv"] == ["--local_dir", f"{root}/global_step_2/actor"]
    assert keys(s3, "jobs/mh-e2e-1/huggingface/") == ["model.safetensors"]
    assert Path(context["config_dir"], "reward_function.py").read_text() == code
