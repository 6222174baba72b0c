"""SageMaker serving container images per engine, region and version.

URIs come from sagemaker-core's offline table (`sagemaker.core.image_uris`, no AWS call): the vLLM
and SGLang SageMaker DLCs and LMI (`djl-lmi`, the djl-inference image). A deployment can replace
an engine's image entirely with SERVING_IMAGE_VLLM / _SGLANG / _LMI (e.g. a byoc/ image in your
ECR); default versions come from SERVING_VERSION_VLLM / _SGLANG / _LMI.
"""

import re
from functools import cache

from django.conf import settings

from apps.backends.base import EngineImage, ImageUnavailable

ENGINES = ("vllm", "sglang", "lmi")
FRAMEWORKS = {"vllm": "vllm", "sglang": "sglang", "lmi": "djl-lmi"}
_OVERRIDE_SETTINGS = {"vllm": "SERVING_IMAGE_VLLM", "sglang": "SERVING_IMAGE_SGLANG", "lmi": "SERVING_IMAGE_LMI"}
_VERSION_SETTINGS = {"vllm": "SERVING_VERSION_VLLM", "sglang": "SERVING_VERSION_SGLANG", "lmi": "SERVING_VERSION_LMI"}

# CUDA 13 (cu130) images need an inference AMI: the default host AMI's NVIDIA driver is too old for them.
CUDA13_AMI = "al2023-ami-sagemaker-inference-gpu-4-1"
_CUDA_TAG = re.compile(r"[-:]cu(\d{3})\b")


class ImageError(ImageUnavailable):
    """An engine, version or region the image table does not know; `supported` lists what it does."""


def _image_uris():
    from sagemaker.core import image_uris  # ~2.5 s import: only when first needed

    return image_uris


def _check_engine(engine: str) -> str:
    if engine not in FRAMEWORKS:
        raise ImageError(f"Unknown engine '{engine}'. Supported: {', '.join(ENGINES)}.", field="engine",
                         supported=list(ENGINES))
    return FRAMEWORKS[engine]


@cache
def supported_versions(engine: str) -> list[str]:
    """Versions (and aliases such as `0.27`) sagemaker-core knows for an engine, oldest first."""
    return list(_image_uris().list_versions(_check_engine(engine), "inference"))


def _scope_config(engine: str) -> dict:
    config = _image_uris().config_for_framework(_check_engine(engine))
    return config if "versions" in config else config["inference"]


@cache
def supported_regions(engine: str, version: str | None = None) -> list[str]:
    """Regions with an image for `engine` (for one version, aliases allowed; else for any version)."""
    config = _scope_config(engine)
    versions = config["versions"]
    if version:
        version = config.get("version_aliases", {}).get(version, version)
        chosen = [versions[version]] if version in versions else []
    else:
        chosen = list(versions.values())
    regions: set[str] = set()
    for entry in chosen:
        regions.update(entry.get("registries", {}))
    return sorted(regions)


def override(engine: str) -> str:
    """The settings-supplied image for an engine, or '' when the DLC table is used."""
    _check_engine(engine)
    return getattr(settings, _OVERRIDE_SETTINGS[engine], "") or ""


def default_version(engine: str) -> str:
    _check_engine(engine)
    return getattr(settings, _VERSION_SETTINGS[engine], "") or ""


def check_version(engine: str, version: str) -> None:
    """Raise ImageError (field `engine_version`) unless sagemaker-core knows this version."""
    known = supported_versions(engine)
    if version not in known:
        raise ImageError(
            f"{engine} version '{version}' has no SageMaker image. Supported: {', '.join(known)}.",
            field="engine_version", supported=known,
        )


def image_uri(engine: str, region: str | None = None, version: str | None = None) -> str:
    """The container image for `engine`: the settings override when set, else the DLC for region/version."""
    custom = override(engine)
    if custom:
        return custom
    return _dlc_uri(engine, region or settings.AWS_REGION, version or default_version(engine) or None)


@cache
def _dlc_uri(engine: str, region: str, version: str | None) -> str:
    """sagemaker-core's lookup reads its JSON tables on every call (~0.1 s): the answers never change."""
    if version:
        check_version(engine, version)
    regions = supported_regions(engine, version)
    if region not in regions:
        raise ImageError(
            f"No {engine} {version or ''} image in region '{region}'. Supported regions: {', '.join(regions)}.",
            field="region", supported=regions,
        )
    try:
        return _image_uris().retrieve(
            framework=FRAMEWORKS[engine], region=region, version=version, image_scope="inference"
        )
    except ValueError as exc:  # anything else the table rejects, with its own list of supported values
        raise ImageError(str(exc), field="engine_version", supported=[]) from exc


def engine_image(engine: str, version: str = "", region: str = "") -> EngineImage:
    """The image for `engine` (the settings override, else the DLC), with the inference AMI it needs."""
    custom = override(engine)
    if custom:
        return EngineImage(uri=custom, version=version or default_version(engine), custom=True)
    version = version or default_version(engine)
    uri = image_uri(engine, region or None, version or None)
    ami = required_inference_ami(uri)
    return EngineImage(uri=uri, version=version, needs={"inference_ami_version": ami} if ami else {})


def cuda_version(uri: str) -> int | None:
    """CUDA version encoded in a DLC tag (`cu130` → 130), None when the tag does not say."""
    match = _CUDA_TAG.search(uri)
    return int(match.group(1)) if match else None


def required_inference_ami(uri: str) -> str:
    """The inference AMI an image needs ('' when the service default works)."""
    cuda = cuda_version(uri)
    return CUDA13_AMI if cuda is not None and cuda >= 130 else ""
