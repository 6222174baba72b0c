"""render_job_bundle(spec, context) -> {filename: text}: everything a training container needs.

The platform stages these files under the job's config/ prefix and points the container at it
(MODELHUB_CONFIG_URI). The GRPO family's bundle carries both `easyr1.yaml` (the EasyR1 image) and
`trl.yaml` (the same run for TRL's GRPOTrainer, on targets without GPUs, Ray and vLLM: renderers/trl.py).
`job.json` is the manifest docker/entrypoint follows: which tool and
config to run, what to download where, where checkpoints and the trainer log go, what to upload
at the end. Secrets are never in the bundle: `secret_env` (tracker key) and `optional_env` (HF
token) name the environment variables the platform fills from the user's stored secrets
(`secret_refs(spec)`).
"""

from __future__ import annotations

from apps.core.huggingface import HF_TOKEN_ENV

from . import datasets, easyr1, llamafactory, merge, trl
from .context import JobContext, job_context
from .yamlio import dump_json

MANIFEST = "job.json"
TRAIN_YAML = "train.yaml"
EASYR1_YAML = "easyr1.yaml"
MERGE_YAML = "merge.yaml"
DATASET_INFO = "dataset_info.json"
MANIFEST_VERSION = 1

# Sub-folders of the job prefix (apps/jobs/layout.py decides the layout; mirrored here so the
# renderers stay importable without settings).
MODEL_DIR, MERGED_DIR, HUGGINGFACE_DIR = "model/", "merged/", "huggingface/"

SECRET_ENV = {"wandb": "WANDB_API_KEY", "swanlab": "SWANLAB_API_KEY"}


def secret_env_name(spec) -> str | None:
    """The container variable that must carry the tracker key (from spec.tracker_key_ref), if any."""
    return SECRET_ENV.get(spec.tracker)


def secret_refs(spec) -> dict[str, str]:
    """{container variable: name of the user's stored secret} for every secret the run needs."""
    refs = {}
    variable = secret_env_name(spec)
    if variable and spec.tracker_key_ref:
        refs[variable] = spec.tracker_key_ref
    if getattr(spec, "hf_token_ref", None):
        refs[HF_TOKEN_ENV] = spec.hf_token_ref
    return refs


def trainer_log_key(spec) -> str:
    """Where the live trainer log lands, relative to the job's checkpoint URI."""
    if spec.tool == "easyr1":
        return "easyr1/experiment_log.jsonl"
    return "output/trainer_log.jsonl"


def _downloads(spec, ctx: JobContext) -> list[dict]:
    items = [{"uri": ref.staged_uri, "dest": ctx.dataset_dir(ref)} for ref in ctx.datasets if ref.staged_uri]
    if spec.base_model_source == "s3":
        items.append({"uri": spec.base_model_uri, "dest": ctx.model_dir})
    if spec.job_type == "ppo" and (spec.reward_model or "").startswith("s3://"):
        items.append({"uri": spec.reward_model, "dest": ctx.reward_model_dir})
    return items


def manifest(spec, ctx: JobContext) -> dict:
    is_r1 = spec.tool == "easyr1"
    needs_lf_merge = merge.merge_config(spec, ctx) is not None
    uploads = []
    if is_r1:
        checkpoint_root, pattern = easyr1.save_checkpoint_path(ctx), "global_step_*"
        if ctx.output_uri:
            uploads.append({"what": "huggingface", "uri": ctx.uri(HUGGINGFACE_DIR)})
    else:
        checkpoint_root, pattern = ctx.output_dir, "checkpoint-*"
        if ctx.output_uri:
            uploads.append({"what": "model", "src": ctx.output_dir, "uri": ctx.uri(MODEL_DIR),
                            "exclude": ["checkpoint-*"]})
            if needs_lf_merge:
                uploads.append({"what": "merged", "src": ctx.export_dir, "uri": ctx.uri(MERGED_DIR)})
    env = {"WANDB_PROJECT": spec.tracker_project} if spec.tracker == "wandb" else {}
    secret = secret_env_name(spec)
    return {
        "version": MANIFEST_VERSION,
        "job_id": ctx.job_id,
        "job_name": ctx.job_name,
        "tool": spec.tool,
        "job_type": spec.job_type,
        "finetuning_method": spec.finetuning_method,
        "train_config": EASYR1_YAML if is_r1 else TRAIN_YAML,
        "merge_config": MERGE_YAML if needs_lf_merge else None,
        "builtin_datasets": [] if is_r1 else datasets.builtin_names(ctx),
        "downloads": _downloads(spec, ctx),
        "resume_from_checkpoint": spec.resume_from_checkpoint,
        "nnodes": spec.instance_count,
        "gpus_per_node": spec.gpus_per_node,
        "checkpoint_root": checkpoint_root,
        "checkpoint_pattern": pattern,
        "trainer_log": f"{ctx.checkpoint_dir}/{trainer_log_key(spec)}",
        "uploads": uploads,
        "env": env,
        "secret_env": [secret] if secret else [],
        "optional_env": [HF_TOKEN_ENV] if getattr(spec, "hf_token_ref", None) else [],
        "paths": {
            "config_dir": ctx.config_dir, "data_dir": ctx.data_dir, "model_dir": ctx.model_dir,
            "resume_dir": ctx.resume_dir, "checkpoint_dir": ctx.checkpoint_dir, "output_dir": ctx.output_dir,
            "export_dir": ctx.export_dir, "llamafactory_root": ctx.llamafactory_root,
            "easyr1_root": ctx.easyr1_root,
        },
    }


def render_job_bundle(spec, context) -> dict[str, str]:
    """Every file of the job's config/ prefix, by name. Pure: same inputs, same bytes."""
    ctx = job_context(context)
    files = {MANIFEST: dump_json(manifest(spec, ctx))}
    if spec.tool == "easyr1":
        files[EASYR1_YAML] = easyr1.render_config_yaml(spec, ctx)
        files[trl.TRL_YAML] = trl.render_trl_yaml(spec, ctx)  # the same run on TRL, for targets without EasyR1
        if spec.reward_function == "custom":
            files[easyr1.CUSTOM_REWARD_FILE] = spec.reward_code
        if spec.format_prompt == "custom":
            files[easyr1.CUSTOM_FORMAT_PROMPT_FILE] = spec.format_prompt_template
        return files
    files[TRAIN_YAML] = llamafactory.render_train_yaml(spec, ctx)
    files[DATASET_INFO] = datasets.render_dataset_info(ctx)
    merged = merge.render_merge_yaml(spec, ctx)
    if merged is not None:
        files[MERGE_YAML] = merged
    return files
