import pytest
from django.test import override_settings

from apps.backends.base import ImageUnavailable
from apps.backends.sagemaker import images


@pytest.mark.parametrize(("engine", "version", "region", "uri"), [
    ("vllm", "0.27.1", "us-east-1",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/vllm:0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker"),
    ("sglang", "0.5.17", "us-east-1",
     "763104351884.dkr.ecr.us-east-1.amazonaws.com/sglang:0.5.17-gpu-py312-cu130-ubuntu24.04-sagemaker"),
    ("lmi", "0.29.0", "us-east-1", "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0-lmi11.0.0-cu124"),
    ("vllm", "0.27.1", "cn-north-1",
     "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/vllm:0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker"),
])
def test_dlc_uris_per_region_and_version(engine, version, region, uri):
    assert images.image_uri(engine, region, version) == uri


def test_default_versions_come_from_settings():
    with override_settings(SERVING_VERSION_SGLANG="0.5.13"):
        assert ":0.5.13-" in images.image_uri("sglang", "eu-west-1")
    assert ":0.30.0-" in images.image_uri("vllm", "us-west-2")


def test_override_wins():
    custom = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/mh-vllm:0.31.0"
    with override_settings(SERVING_IMAGE_VLLM=custom):
        assert images.image_uri("vllm", "us-east-1", "0.27.1") == custom
        assert images.override("vllm") == custom
    assert images.override("vllm") == ""


def test_unknown_version_lists_supported():
    with pytest.raises(images.ImageError) as info:
        images.image_uri("vllm", "us-east-1", "0.1.0")
    assert info.value.field == "engine_version"
    assert "0.27.1" in str(info.value) and "0.27.1" in info.value.supported


def test_unknown_region_lists_supported_for_that_version():
    with pytest.raises(images.ImageError) as info:
        images.image_uri("vllm", "mars-north-1", "0.30.0")
    assert info.value.field == "region" and "us-east-1" in info.value.supported
    # 0.30.0 is not published in China, 0.27.1 is
    with pytest.raises(images.ImageError):
        images.image_uri("vllm", "cn-north-1", "0.30.0")
    assert "cn-north-1" in images.supported_regions("vllm", "0.27")


def test_unknown_engine():
    with pytest.raises(images.ImageError, match="Supported: vllm, sglang, lmi"):
        images.image_uri("tgi")


def test_cuda_and_required_ami():
    assert images.cuda_version("x/vllm:0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker") == 130
    assert images.required_inference_ami("x/vllm:0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker") == images.CUDA13_AMI
    assert images.required_inference_ami("x/djl-inference:0.29.0-lmi11.0.0-cu124") == ""
    assert images.required_inference_ami("custom/mh-vllm:latest") == ""


def test_engine_image_says_which_ami_a_cuda13_image_needs_and_flags_overrides():
    image = images.engine_image("vllm", "0.27.1", "us-east-1")
    assert image.uri.endswith("vllm:0.27.1-gpu-py312-cu130-ubuntu22.04-sagemaker")
    assert (image.version, image.custom, dict(image.needs)) == ("0.27.1", False,
                                                                {"inference_ami_version": images.CUDA13_AMI})
    assert images.engine_image("lmi", "0.29.0").needs == {}
    with override_settings(SERVING_IMAGE_VLLM="acct.dkr.ecr.eu-west-1.amazonaws.com/mh-vllm:1"):
        custom = images.engine_image("vllm", "0.1.0")
    assert (custom.uri, custom.custom) == ("acct.dkr.ecr.eu-west-1.amazonaws.com/mh-vllm:1", True)
    with pytest.raises(ImageUnavailable) as info:
        images.engine_image("vllm", "0.1.0")
    assert info.value.field == "engine_version" and "0.27.1" in info.value.supported
