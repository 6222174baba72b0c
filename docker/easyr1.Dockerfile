# ModelHub training image for the GRPO family (grpo, dapo, gspo, cispo) on EasyR1 (veRL + vLLM + Ray).
# Build from the repository root:
#   docker build -f docker/easyr1.Dockerfile -t modelhub-easyr1:b44b311 .
# Pin the base by digest in production.
ARG EASYR1_BASE_IMAGE=hiyouga/verl:ngc-th2.8.0-cu12.9-vllm0.11.0
FROM ${EASYR1_BASE_IMAGE}

# EasyR1 at a fixed commit, fetched at build time (never at run time).
ARG EASYR1_REPO=https://github.com/hiyouga/EasyR1.git
ARG EASYR1_COMMIT=b44b311
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

RUN python3 -m pip install --no-cache-dir boto3==1.44.8

COPY docker/entrypoint /opt/modelhub/entrypoint
# HF_HOME: Hub downloads go to the ML storage volume (sized by VolumeSizeInGB), not the small root disk.
ENV PYTHONPATH=/opt/modelhub/entrypoint${PYTHONPATH:+:${PYTHONPATH}} \
    PYTHONUNBUFFERED=1 \
    HF_HOME=/opt/ml/input/data/hf-home \
    RAY_DEDUP_LOGS=0

WORKDIR /opt/easyr1
ENTRYPOINT ["python3", "-m", "modelhub_train"]
