"""Where a training job's files live in object storage.

Every job owns one prefix, `s3://<S3_BUCKET>/<S3_PREFIX>/jobs/<remote name>/`, with:

    config/         the rendered bundle (train/merge configs, dataset_info.json, reward code) staged before submit
    checkpoints/    SageMaker CheckpointConfig.S3Uri: /opt/ml/checkpoints is synced here during training
                    (spot resume, and the trainer log that feeds the live loss curve)
    output/         SageMaker OutputDataConfig.S3OutputPath (model.tar.gz of /opt/ml/model)
    model/          the trained model or adapter, uploaded by the entry point (full fine-tuning deploys this)
    merged/         LoRA / QLoRA adapter merged into the (unquantized) base model (lora and qlora deploy this)
    huggingface/    EasyR1 actor exported to Hugging Face format (the GRPO family deploys this)

The entry point learns these locations from the container environment (see ENV_* below), so the
layout is decided here, once.
"""

from django.conf import settings

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
ENV_CHECKPOINT_DIR = "MODELHUB_CHECKPOINT_DIR"  # local dir SageMaker syncs to <prefix>checkpoints/
ENV_RESUME_FROM = "MODELHUB_RESUME_FROM"  # the user's s3:// checkpoint to start from (optional)
ENV_JOB_TYPE = "MODELHUB_JOB_TYPE"
ENV_JOB_ID = "MODELHUB_JOB_ID"


def job_prefix_uri(remote_name: str, *, bucket: str | None = None, prefix: str | None = None) -> str:
    bucket = bucket if bucket is not None else settings.S3_BUCKET
    prefix = (prefix if prefix is not None else settings.S3_PREFIX).strip("/")
    key = f"{prefix}/jobs/{remote_name}/" if prefix else f"jobs/{remote_name}/"
    return f"s3://{bucket}/{key}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    """("bucket", "key/prefix") of an s3:// URI."""
    if not uri.startswith("s3://"):
        raise ValueError(f"Not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key
