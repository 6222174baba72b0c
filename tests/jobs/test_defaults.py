"""Every default works: a job with nothing chosen but the model, the data, the method and the catalog's
cheapest instance for that model and method validates, for every catalog model and every job type, through
`validate_job` (what the form uses) and through the API."""

import pytest

from apps.catalog.models import BaseModel
from apps.core.job_types import JobType
from apps.jobs.serializers import validate_job
from apps.jobs.spec import R1
from apps.jobs.spec.fields import OLD_GPUS

from .factories import FORMAT_FOR_TYPE, make_dataset

pytestmark = pytest.mark.django_db

LF_METHODS = ("lora", "qlora", "full")
R1_METHODS = ("lora", "full")  # the GRPO family refuses qlora


def cheapest_instance(model, job_type, method):
    """The catalog's cheapest instance that fits `model` for `method` (for the GRPO family, which EasyR1
    trains in bf16 only, the cheapest with a bf16 GPU)."""
    fitting = model.training_instance_types("qlora" if method == "qlora" else method)
    if job_type in R1:
        fitting = [i for i in fitting if i.gpu_name not in OLD_GPUS]
    return fitting[0].name if fitting else None  # None: no instance fits, the catalog does not offer it


@pytest.fixture
def setup(user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="hf", kind="hf_token", value="hf_" + "x" * 34)
    datasets = {t: make_dataset(user, FORMAT_FOR_TYPE[t]) for t in JobType.values}
    models = list(BaseModel.objects.filter(is_custom=False).order_by("key"))
    assert len(models) >= 10, "the curated catalog is loaded"
    return datasets, models


def request_for(model, job_type, method, datasets):
    """Only what has no default: name, model, data, method, instance, PPO's reward model; and a stored Hugging
    Face token, which gated models need (a one-time setup on the profile page, not a default)."""
    instance = cheapest_instance(model, job_type, method)
    if instance is None:
        return None
    data = {"name": f"{model.key}-{job_type}-{method}", "job_type": job_type, "base_model": model.key,
            "datasets": [str(datasets[job_type].pk)], "finetuning_method": method,
            "instance_type": instance, "hf_token_ref": "hf"}
    if job_type == JobType.PPO:
        data["reward_model"] = "s3://bucket/jobs/rm-1/model/"
    return data


def combinations():
    return [(t, m) for t in JobType.values for m in (R1_METHODS if t in R1 else LF_METHODS)]


def test_every_default_validates_on_each_models_cheapest_instance(user, setup):
    datasets, models = setup
    failures, checked = {}, 0
    for model in models:
        for job_type, method in combinations():
            data = request_for(model, job_type, method, datasets)
            if data is None:
                continue
            checked += 1
            result = validate_job(data, user)
            if not result.ok:
                failures[data["name"], data["instance_type"]] = dict(result.errors)
    assert not failures, failures
    assert checked > len(models) * 10


def test_g4dn_xlarge_trains_in_fp16_with_every_default(user, setup):
    datasets, _ = setup
    for method in LF_METHODS:
        result = validate_job({"name": "t4", "job_type": "sft", "base_model": "qwen2.5-0.5b-instruct",
                               "datasets": [str(datasets["sft"].pk)], "finetuning_method": method,
                               "instance_type": "ml.g4dn.xlarge"}, user)
        assert result.ok, result.errors
        spec = result.value.spec
        assert spec.precision == "fp16"
        assert spec.quantization_bit == (4 if method == "qlora" else None)
        assert spec.base_model_source == "catalog" and spec.template == "qwen"


def test_the_api_launches_every_default(user, user_api, setup):
    datasets, models = setup
    for model in models:
        for job_type, method in (("sft", "lora"), ("sft", "qlora"), ("sft", "full"), ("grpo", "full")):
            data = request_for(model, job_type, method, datasets)
            if data is None:
                continue
            response = user_api.post("/api/v1/jobs/", data, format="json")
            assert response.status_code == 201, (data, response.json())
            spec = response.json()["spec"]
            assert spec["instance_type"] == data["instance_type"]
            if job_type == "grpo":
                assert spec["reward_function"] == "math" and spec["precision"] == "bf16"
