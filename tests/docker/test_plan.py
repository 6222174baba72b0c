"""Merge and upload decisions: the master merges LoRA and QLoRA, exports EasyR1 actors, uploads."""

import pytest

from modelhub_train import datasets, plan


def manifest(tool="llamafactory", merge="merge.yaml"):
    return {"tool": tool, "merge_config": merge if tool == "llamafactory" else None,
            "uploads": [{"what": "model", "uri": "s3://b/j/model/"}]}


@pytest.mark.parametrize("merge,expected", [("merge.yaml", "llamafactory"), (None, None)])
def test_llamafactory_merge_follows_the_manifest(merge, expected):
    assert plan.finish_plan(manifest(merge=merge), is_master=True, training_succeeded=True).merge == expected


def test_easyr1_always_exports():
    assert plan.finish_plan(manifest("easyr1"), is_master=True, training_succeeded=True).merge == "easyr1"


def test_only_a_successful_master_finishes():
    assert plan.finish_plan(manifest(), is_master=False, training_succeeded=True) == plan.Finish(None, ())
    assert plan.finish_plan(manifest(), is_master=True, training_succeeded=False) == plan.Finish(None, ())


def test_rendered_bundles_drive_the_merge_for_lora_and_qlora():
    """The renderer's manifest and this plan agree: lora and qlora merge, full does not."""
    from apps.jobs.renderers import render_job_bundle
    from apps.jobs.spec import TrainingSpec, defaults_for
    import json

    def finish(method, **extra):
        spec = TrainingSpec.from_dict({**defaults_for("sft"), "job_type": "sft", "base_model": "a/b",
                                       "base_model_source": "hf", "base_model_uri": "a/b",
                                       "finetuning_method": method, **extra})
        m = json.loads(render_job_bundle(spec, {"output_uri": "s3://b/j/"})["job.json"])
        return plan.finish_plan(m, is_master=True, training_succeeded=True)

    assert finish("lora").merge == "llamafactory"
    qlora = finish("qlora", quantization_bit=4)
    assert qlora.merge == "llamafactory" and [u["what"] for u in qlora.uploads] == ["model", "merged"]
    assert finish("full").merge is None


def test_builtin_entries_get_absolute_paths():
    builtin = {"alpaca_en_demo": {"file_name": "alpaca_en_demo.json"}, "hub": {"hf_hub_url": "x/y"}}
    info = datasets.with_builtins({"mine": {"file_name": "mine/a.jsonl"}}, builtin, ["alpaca_en_demo", "hub"], "/app/data")
    assert info == {"mine": {"file_name": "mine/a.jsonl"}, "alpaca_en_demo": {"file_name": "/app/data/alpaca_en_demo.json"},
                    "hub": {"hf_hub_url": "x/y"}}
    with pytest.raises(ValueError, match="nope"):
        datasets.with_builtins({}, builtin, ["nope"], "/app/data")
