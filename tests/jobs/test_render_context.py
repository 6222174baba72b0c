"""The renderers read catalog Dataset rows as the platform passes them (no queries, no I/O)."""

import json

import pytest
import yaml

from apps.jobs.renderers import render_job_bundle, secret_env_name, secret_refs, trainer_log_key
from apps.jobs.renderers.context import DatasetRef, JobContext, job_context
from apps.jobs.spec import TrainingSpec, defaults_for

from .test_spec import make_dataset


def spec_for(job_type, **extra):
    values = {**defaults_for(job_type), "job_type": job_type, "base_model": "Qwen/Qwen3-4B",
              "base_model_source": "hf", "base_model_uri": "Qwen/Qwen3-4B", "datasets": [1],
              "precision": "bf16"}  # validation resolves the GPU-dependent default
    values.update(extra)
    return TrainingSpec.from_dict(values)


def stage(ds, prefix):
    ds.staged = {"s3": prefix}
    ds.save()
    return ds


@pytest.mark.django_db
def test_catalog_rows_become_dataset_info_entries(user, django_assert_num_queries):
    from apps.catalog.models import Dataset

    upload = stage(make_dataset(user, "sharegpt", name="Chat logs"), "s3://bk/datasets/ds-chat-logs-1/staged/")
    upload.layout = {"formatting": "sharegpt", "columns": {"messages": "conversations"}}
    upload.save()
    s3 = Dataset(owner=user, name="Big corpus", source="s3", source_uri="s3://data-bucket/corpus/", format="alpaca",
                 staged={"s3": "s3://bk/datasets/ds-big-corpus-2/staged/"})
    s3.status = "ready"
    s3.save()
    builtin = Dataset(owner=None, name="Alpaca demo", source="builtin", source_uri="alpaca_en_demo", format="alpaca")
    builtin.status = "ready"
    builtin.save()

    with django_assert_num_queries(0):
        files = render_job_bundle(spec_for("sft"), {"job_name": "mh-a-1", "datasets": [upload, s3, builtin],
                                                    "output_uri": "s3://bk/jobs/mh-a-1/"})
    info = json.loads(files["dataset_info.json"])
    assert info == {
        upload.llamafactory_name: {"file_name": f"{upload.llamafactory_name}/{upload.llamafactory_name}.jsonl",
                                   "formatting": "sharegpt", "columns": {"messages": "conversations"}},
        s3.llamafactory_name: {"file_name": f"{s3.llamafactory_name}/{s3.llamafactory_name}"},
    }
    train = yaml.safe_load(files["train.yaml"])
    assert train["dataset"] == f"{upload.llamafactory_name},{s3.llamafactory_name},alpaca_en_demo"
    manifest = json.loads(files["job.json"])
    assert manifest["builtin_datasets"] == ["alpaca_en_demo"]
    assert manifest["downloads"] == [
        {"uri": "s3://bk/datasets/ds-chat-logs-1/staged/", "dest": f"/opt/ml/input/data/datasets/{upload.llamafactory_name}"},
        {"uri": "s3://bk/datasets/ds-big-corpus-2/staged/", "dest": f"/opt/ml/input/data/datasets/{s3.llamafactory_name}"},
    ]


@pytest.mark.django_db
def test_prompt_answer_dataset_feeds_easyr1_from_the_local_copy(user):
    ds = stage(make_dataset(user, "prompt_answer", name="Math"), "s3://bk/datasets/ds-math-3/staged/")
    ref = job_context({"datasets": [ds]}).datasets[0]
    folder = f"/opt/ml/input/data/datasets/{ds.llamafactory_name}/"
    assert ref.easyr1["train_files"].startswith(folder) and ref.easyr1["train_files"].endswith("@train")
    files = render_job_bundle(spec_for("grpo", reward_function="math"), {"datasets": [ds]})
    config = yaml.safe_load(files["easyr1.yaml"])
    assert config["data"]["train_files"] == ref.easyr1["train_files"]
    assert config["data"]["val_files"] == ref.easyr1["val_files"]
    assert json.loads(files["job.json"])["downloads"][0] == {"uri": "s3://bk/datasets/ds-math-3/staged/",
                                                             "dest": folder.rstrip("/")}


def test_s3_base_and_reward_models_are_downloaded_and_used_locally():
    spec = spec_for("ppo", base_model="s3://bk/models/llama/", base_model_source="s3",
                    base_model_uri="s3://bk/models/llama/", reward_model="s3://bk/jobs/rm/model/")
    files = render_job_bundle(spec, JobContext(datasets=(DatasetRef("d", entry={"file_name": "d.jsonl"}),)))
    train = yaml.safe_load(files["train.yaml"])
    assert train["model_name_or_path"] == "/opt/ml/input/data/base_model"
    assert train["reward_model"] == "/opt/ml/input/data/reward_model"
    downloads = json.loads(files["job.json"])["downloads"]
    assert {"uri": "s3://bk/models/llama/", "dest": "/opt/ml/input/data/base_model"} in downloads
    assert {"uri": "s3://bk/jobs/rm/model/", "dest": "/opt/ml/input/data/reward_model"} in downloads


def test_secrets_stay_out_of_the_bundle():
    spec = spec_for("sft", tracker="wandb", tracker_key_ref="my-wandb", tracker_project="proj")
    files = render_job_bundle(spec, {})
    manifest = json.loads(files["job.json"])
    assert manifest["secret_env"] == ["WANDB_API_KEY"] and manifest["env"] == {"WANDB_PROJECT": "proj"}
    assert secret_env_name(spec) == "WANDB_API_KEY"
    assert not any("my-wandb" in text for text in files.values())


def test_qlora_produces_an_unquantized_merge_and_upload():
    spec = spec_for("sft", finetuning_method="qlora", quantization_bit=4)
    files = render_job_bundle(spec, {"output_uri": "s3://bk/jobs/j/"})
    merge = yaml.safe_load(files["merge.yaml"])
    assert "quantization_bit" not in merge and merge["finetuning_type"] == "lora"
    uploads = {u["what"]: u["uri"] for u in json.loads(files["job.json"])["uploads"]}
    assert uploads == {"model": "s3://bk/jobs/j/model/", "merged": "s3://bk/jobs/j/merged/"}


def test_full_and_rm_runs_have_no_merge():
    assert "merge.yaml" not in render_job_bundle(spec_for("sft", finetuning_method="full"), {})
    assert "merge.yaml" not in render_job_bundle(spec_for("rm"), {})


def test_render_is_pure_and_deterministic():
    spec = spec_for("dpo")
    ctx = {"job_name": "x", "datasets": [{"name": "p", "entry": {"file_name": "p.json", "ranking": True}}]}
    assert render_job_bundle(spec, ctx) == render_job_bundle(spec, dict(ctx))


def test_trainer_log_key():
    assert trainer_log_key(spec_for("kto")) == "output/trainer_log.jsonl"
    assert trainer_log_key(spec_for("gspo")) == "easyr1/experiment_log.jsonl"


def test_secret_refs_name_every_secret_the_run_needs():
    spec = spec_for("sft", tracker="swanlab", tracker_key_ref="swan", tracker_project="p", hf_token_ref="hf-main")
    assert secret_refs(spec) == {"SWANLAB_API_KEY": "swan", "HF_TOKEN": "hf-main"}
    manifest = json.loads(render_job_bundle(spec, {})["job.json"])
    assert manifest["secret_env"] == ["SWANLAB_API_KEY"] and manifest["optional_env"] == ["HF_TOKEN"]
    assert secret_refs(spec_for("sft")) == {}
