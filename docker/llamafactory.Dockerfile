# ModelHub training image for the LLaMA-Factory job types (sft, pt, ppo, dpo, kto, rm).
# Build from the repository root:
#   docker build -f docker/llamafactory.Dockerfile -t modelhub-llamafactory:0.9.4 .
# Pin the base by digest in production (docker buildx imagetools inspect <image>).
ARG LLAMAFACTORY_IMAGE=hiyouga/llamafactory:0.9.4
FROM ${LLAMAFACTORY_IMAGE}

# The official image keeps the LLaMA-Factory checkout in /app (examples/deepspeed, data/dataset_info.json);
# the rendered configs point there. Fail the build, not the job, if that ever changes.
RUN test -f /app/examples/deepspeed/ds_z0_config.json \
 && test -f /app/examples/deepspeed/ds_z2_config.json \
 && test -f /app/examples/deepspeed/ds_z2_offload_config.json \
 && test -f /app/examples/deepspeed/ds_z3_config.json \
 && test -f /app/examples/deepspeed/ds_z3_offload_config.json \
 && test -f /app/data/dataset_info.json \
 && llamafactory-cli version

# What the job form offers beyond the official image (apps/jobs/renderers/llamafactory_schema.IMAGE_PACKAGES):
# QLoRA (bitsandbytes), the liger booster, the SwanLab, W&B and TensorBoard trackers, the GaLore, APOLLO and
# BAdam optimizers. Pinned, and imported here so a missing or broken package fails the build instead of a job
# at start-up.
RUN python3 -m pip install --no-cache-dir boto3==1.44.8 \
    bitsandbytes==0.46.1 liger-kernel==0.6.2 swanlab==0.6.12 wandb==0.22.3 tensorboard==2.20.0 \
    galore-torch==1.0 apollo-torch==1.0.3 badam==1.2.2 \
 && python3 -c "import llamafactory; assert llamafactory.__version__ == '0.9.4', llamafactory.__version__" \
 && python3 -c "import bitsandbytes, liger_kernel, swanlab, wandb, tensorboard, galore_torch, apollo_torch, badam"

COPY docker/entrypoint /opt/modelhub/entrypoint
# HF_HOME: Hub downloads go to the ML storage volume (sized by VolumeSizeInGB), not the small root disk.
ENV PYTHONPATH=/opt/modelhub/entrypoint${PYTHONPATH:+:${PYTHONPATH}} \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/opt/ml/input/data/hf-home \
    LLAMABOARD_ENABLED=0 \
    DISABLE_VERSION_CHECK=1

WORKDIR /app
# SageMaker runs `<image> train`; the argument is ignored. Exec form: no shell between us and the trainer.
ENTRYPOINT ["python3", "-m", "modelhub_train"]
