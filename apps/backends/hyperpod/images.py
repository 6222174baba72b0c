"""Worker images for HyperPod: the AWS Deep Learning Containers that take their command line.

HyperPod runs the engine as a plain Kubernetes container, so it needs an image whose entry point
accepts `command`/`args` (the SageMaker variants start their own entry point and read SM_* variables).
vLLM: the DLC built "for EC2, ECS, EKS" (tag suffix `-ec2`). SGLang: AWS publishes SageMaker
variants only; the worker's `command` replaces their entry point, so they serve the same way.
Tags are those listed in the release notes of github.com/aws/deep-learning-containers
(docs/releasenotes/vllm/vllm-<v>-gpu-ec2.md and docs/releasenotes/sglang/sglang-<v>-gpu-sagemaker.md);
the registry account per region is sagemaker-core's (the same DLC registries).
Settings HYPERPOD_IMAGE_VLLM / HYPERPOD_IMAGE_SGLANG replace the table (e.g. a mirror in your ECR).
"""

from functools import cache

from django.conf import settings

from ..base import EngineImage, ImageUnavailable

# engine -> version -> repository:tag (newest last; the last one is the default)
WORKER_IMAGES = {
    "vllm": {
        "0.13.0": "vllm:0.13.0-gpu-py312-cu129-ubuntu22.04-ec2",
        "0.14.0": "vllm:0.14.0-gpu-py312-cu129-ubuntu22.04-ec2",
    },
    "sglang": {
        "0.5.7": "sglang:0.5.7-gpu-py312-cu129-ubuntu24.04-sagemaker",
        "0.5.8": "sglang:0.5.8-gpu-py312-cu129-ubuntu22.04-sagemaker",
    },
}
DEFAULT_ACCOUNT = "763104351884"
_OVERRIDES = {"vllm": "HYPERPOD_IMAGE_VLLM", "sglang": "HYPERPOD_IMAGE_SGLANG"}


class WorkerImageError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def default_version(engine: str) -> str:
    return list(WORKER_IMAGES.get(engine, {"": ""}))[-1]


@cache
def _account(region: str) -> str:
    """The DLC registry account of a region (a few opt-in regions use their own)."""
    try:
        from sagemaker.core import image_uris

        config = image_uris.config_for_framework("vllm")
        config = config.get("inference", config)
        for entry in reversed(list(config["versions"].values())):
            if region in entry.get("registries", {}):
                return entry["registries"][region]
    except Exception:  # noqa: BLE001 - an unreadable table falls back to the main registry
        pass
    return DEFAULT_ACCOUNT


def worker_image(engine: str, version: str, region: str, explicit: str = "") -> str:
    """The image for `engine` at `version` in `region`; an explicit image or a settings override wins."""
    if explicit:
        return explicit
    if engine not in WORKER_IMAGES:
        raise WorkerImageError(f"HyperPod serves vLLM or SGLang, not '{engine}'.", "engine")
    override = getattr(settings, _OVERRIDES[engine], "")
    if override:
        return override
    version = version or default_version(engine)
    tags = WORKER_IMAGES[engine]
    if version not in tags:
        raise WorkerImageError(
            f"No HyperPod {engine} image for version {version}; known: {', '.join(tags)} "
            f"(or set {_OVERRIDES[engine]} to an image of your own).", "engine_version",
        )
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{_account(region)}.dkr.ecr.{region}.{domain}/{tags[version]}"


def engine_image(engine: str, version: str, region: str) -> EngineImage:
    """The worker image as the contract's EngineImage; ImageUnavailable names the field at fault."""
    try:
        uri = worker_image(engine, version, region)
    except WorkerImageError as exc:
        raise ImageUnavailable(str(exc), field=exc.field, supported=WORKER_IMAGES.get(engine, ())) from exc
    return EngineImage(uri=uri, version=version or default_version(engine),
                       custom=bool(getattr(settings, _OVERRIDES[engine], "")))
