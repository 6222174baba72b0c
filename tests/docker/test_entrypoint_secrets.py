"""The entry point reads the job's secrets from Secrets Manager (moto) and hands them only to the
tool subprocesses (stand-in llamafactory-cli records what it was given), never to its own output."""

import json
import os

import boto3
import pytest

from modelhub_train import job_secrets, run
from tests.docker.test_entrypoint_run import CHAT, calls, s3, sandbox, spec, stage_job  # noqa: F401 (fixtures)

WANDB_KEY = "wk_" + "7Hq" * 13
HF_TOKEN = "hf_" + "Zq9" * 12
TRACKED_HF = {"tracker": "wandb", "tracker_key_ref": "w", "tracker_project": "p", "hf_token_ref": "hf"}


def make_secret(values: dict, name="modelhub/jobs/mh-e2e-1") -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"]


def failure(tmp_path) -> str:
    path = tmp_path / "failure"
    return path.read_text() if path.exists() else ""


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch):
    for name in job_secrets.VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_secrets_reach_the_trainer_and_merge_only(s3, sandbox, capfd):  # noqa: F811
    tmp_path, context = sandbox
    arn = make_secret({"WANDB_API_KEY": WANDB_KEY, "HF_TOKEN": HF_TOKEN, "UNRELATED": "x"})
    env = stage_job(s3, spec(finetuning_method="qlora", quantization_bit=4, **TRACKED_HF), context, [CHAT])
    assert run.main({**env, "MODELHUB_SECRETS_ARN": arn}) == 0, failure(tmp_path)

    train, export = calls(tmp_path)
    assert train["argv"] == ["train", f"{context['config_dir']}/train.yaml"]  # tracking stays on
    assert train["secrets"] == {"WANDB_API_KEY": WANDB_KEY, "HF_TOKEN": HF_TOKEN}
    assert export["secrets"] == {"WANDB_API_KEY": WANDB_KEY, "HF_TOKEN": HF_TOKEN}
    assert not set(job_secrets.VARIABLES) & set(os.environ), "the entry point's own environment stays clean"
    output = capfd.readouterr()
    for value in (WANDB_KEY, HF_TOKEN):
        assert value not in output.out and value not in output.err


def test_a_job_without_secrets_needs_no_secret(s3, sandbox):  # noqa: F811
    tmp_path, context = sandbox
    env = stage_job(s3, spec(), context, [CHAT])
    assert run.main(env) == 0, failure(tmp_path)
    assert calls(tmp_path)[0]["secrets"] == {}


def test_unreadable_secret_turns_tracking_off(s3, sandbox, capfd):  # noqa: F811
    tmp_path, context = sandbox
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:modelhub/jobs/mh-e2e-1-AbCdEf"
    env = stage_job(s3, spec(tracker="wandb", tracker_key_ref="w", tracker_project="p"), context, [CHAT])
    assert run.main({**env, "MODELHUB_SECRETS_ARN": missing}) == 0, failure(tmp_path)
    train = calls(tmp_path)[0]
    assert train["argv"][-2:] == ["report_to=none", "use_swanlab=false"] and train["secrets"] == {}
    out = capfd.readouterr().out
    assert "ResourceNotFoundException" in out and "experiment tracking is turned off" in out


def test_missing_hf_token_fails_the_job_clearly(s3, sandbox, capfd):  # noqa: F811
    tmp_path, context = sandbox
    arn = make_secret({"WANDB_API_KEY": WANDB_KEY})  # the token is not in the job's secret
    env = stage_job(s3, spec(**TRACKED_HF), context, [CHAT])
    assert run.main({**env, "MODELHUB_SECRETS_ARN": arn}) == 1
    reason = failure(tmp_path)
    assert "Hugging Face token (HF_TOKEN)" in reason and "secretsmanager:GetSecretValue" in reason
    assert calls(tmp_path) == []  # nothing trained
    assert WANDB_KEY not in capfd.readouterr().out and WANDB_KEY not in reason


def test_unreadable_secret_with_hf_token_fails_and_says_why(s3, sandbox):  # noqa: F811
    tmp_path, context = sandbox
    env = stage_job(s3, spec(hf_token_ref="hf"), context, [CHAT])
    assert run.main({**env, "MODELHUB_SECRETS_ARN": "modelhub/jobs/gone"}) == 1
    reason = failure(tmp_path)
    assert "HF_TOKEN" in reason and "modelhub/jobs/gone" in reason and "ResourceNotFoundException" in reason
    assert run.main(env) == 1  # no secret given at all
    assert "MODELHUB_SECRETS_ARN is not set" in failure(tmp_path)


def test_region_comes_from_the_arn():
    assert job_secrets.region_of("arn:aws:secretsmanager:eu-west-1:123456789012:secret:modelhub/jobs/x-AbC") == "eu-west-1"
    assert job_secrets.region_of("modelhub/jobs/x") is None


def test_a_secret_that_is_not_a_json_object_is_unreadable(s3):  # noqa: F811
    arn = make_secret({"HF_TOKEN": HF_TOKEN})
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(SecretId=arn, SecretString="[1, 2]")
    values, problem = job_secrets.load({"MODELHUB_SECRETS_ARN": arn})
    assert values == {} and "not a JSON object" in problem
