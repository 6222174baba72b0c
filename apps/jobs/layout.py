"""Where a training job's files live on its target's storage, and how its container learns it.

Every job owns one prefix, its root, which its target gives (`backend.job_root(remote name)`, e.g.
`s3://<S3_BUCKET>/<S3_PREFIX>/jobs/<remote name>/`), with:

    config/         the rendered bundle (train/merge configs, dataset_info.json, reward code) put there before the run
    checkpoints/    checkpoints synced during training (spot resume), and the trainer log that feeds the loss curve
    output/         what the target packs when the run ends (e.g. a model.tar.gz of the container's model dir)
    model/          the trained model or adapter, uploaded by the entry point (full fine-tuning deploys this)
    merged/         LoRA / QLoRA adapter merged into the (unquantized) base model (lora and qlora deploy this)
    huggingface/    EasyR1 actor exported to Hugging Face format (the GRPO family deploys this)

The entry point learns these locations from the container environment (see ENV_* below), so the
layout is decided here, once; the backend receives the concrete locations in `JobLocations`.
"""

from apps.backends.base import JobLocations

CONFIG_DIR = "config/"
CHECKPOINT_DIR = "checkpoints/"
OUTPUT_DIR = "output/"
MODEL_DIR = "model/"
MERGED_DIR = "merged/"
HUGGINGFACE_DIR = "huggingface/"

# Container environment variables the training entry point reads.
ENV_JOB_URI = "MODELHUB_JOB_URI"  # the job's prefix (ends with "/")
ENV_CONFIG_URI = "MODELHUB_CONFIG_URI"  # <prefix>config/
ENV_CHECKPOINT_URI = "MODELHUB_CHECKPOINT_URI"  # <prefix>checkpoints/
ENV_MODEL_URI = "MODELHUB_MODEL_URI"  # <prefix>model/
ENV_MERGED_URI = "MODELHUB_MERGED_URI"  # <prefix>merged/
ENV_HUGGINGFACE_URI = "MODELHUB_HUGGINGFACE_URI"  # <prefix>huggingface/
ENV_RESUME_FROM = "MODELHUB_RESUME_FROM"  # the user's checkpoint to start from (optional)
ENV_JOB_TYPE = "MODELHUB_JOB_TYPE"
ENV_JOB_ID = "MODELHUB_JOB_ID"


def locations(root: str, trainer_log_key: str) -> JobLocations:
    """The job's locations under `root`; `trainer_log_key` is the trainer log's path in checkpoints/."""
    return JobLocations(
        root=root, config=root + CONFIG_DIR, checkpoints=root + CHECKPOINT_DIR, output=root + OUTPUT_DIR,
        trainer_log=root + CHECKPOINT_DIR + trainer_log_key,
    )


def environment(job_id: int, job_type: str, root: str, resume_from: str | None = None) -> dict[str, str]:
    """The container environment that tells the entry point where everything is (no secret in it)."""
    env = {
        ENV_JOB_ID: str(job_id),
        ENV_JOB_TYPE: job_type,
        ENV_JOB_URI: root,
        ENV_CONFIG_URI: root + CONFIG_DIR,
        ENV_CHECKPOINT_URI: root + CHECKPOINT_DIR,
        ENV_MODEL_URI: root + MODEL_DIR,
        ENV_MERGED_URI: root + MERGED_DIR,
        ENV_HUGGINGFACE_URI: root + HUGGINGFACE_DIR,
    }
    if resume_from:
        env[ENV_RESUME_FROM] = resume_from
    return env
