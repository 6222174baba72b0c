# ModelHub training image for the GRPO family (grpo, dapo, gspo, cispo) on EasyR1 (veRL + vLLM + Ray).
# Build from the repository root:
#   docker build -f docker/easyr1.Dockerfile -t modelhub-easyr1:b44b311 .
# The spec's EasyR1 rules are recorded from this commit (apps/jobs/renderers/easyr1_schema.COMMIT).
# Pin the base by digest in production.
ARG EASYR1_BASE_IMAGE=hiyouga/verl:ngc-th2.8.0-cu12.9-vllm0.11.0
FROM ${EASYR1_BASE_IMAGE}

# EasyR1 at a fixed commit, fetched at build time (never at run time).
ARG EASYR1_REPO=https://github.com/hiyouga/EasyR1.git
ARG EASYR1_COMMIT=b44b311b669bf1fd1aa2fc36f2251482ba33cb16
RUN git clone --filter=blob:none "${EASYR1_REPO}" /opt/easyr1 \
 && git -C /opt/easyr1 checkout --detach "${EASYR1_COMMIT}" \
 && python3 -m pip install --no-cache-dir --no-deps -e /opt/easyr1 \
 && test -f /opt/easyr1/scripts/model_merger.py \
 && test -f /opt/easyr1/examples/reward_function/math.py \
 && test -f /opt/easyr1/examples/reward_function/r1v.py \
 && test -f /opt/easyr1/examples/reward_function/dapo.py \
 && test -f /opt/easyr1/examples/format_prompt/math.jinja \
 && test -f /opt/easyr1/examples/format_prompt/r1v.jinja \
 && test -f /opt/easyr1/examples/format_prompt/dapo.jinja \
 && python3 -c "import verl, ray, vllm"

# The SwanLab and TensorBoard loggers the job form offers (the base image has wandb only):
# apps/jobs/renderers/easyr1_schema.IMAGE_PACKAGES, pinned and imported at build time.
RUN python3 -m pip install --no-cache-dir boto3==1.44.8 swanlab==0.6.12 tensorboard==2.20.0 \
 && python3 -c "import swanlab, tensorboard, wandb, torch.utils.tensorboard"

COPY docker/entrypoint /opt/modelhub/entrypoint
# HF_HOME: Hub downloads go to the ML storage volume (sized by VolumeSizeInGB), not the small root disk.
ENV PYTHONPATH=/opt/modelhub/entrypoint${PYTHONPATH:+:${PYTHONPATH}} \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/opt/ml/input/data/hf-home \
    RAY_DEDUP_LOGS=0

WORKDIR /opt/easyr1
ENTRYPOINT ["python3", "-m", "modelhub_train"]
