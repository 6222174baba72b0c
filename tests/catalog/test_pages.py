"""The catalog pages render, filter and validate like the API."""

import pytest
from django.urls import reverse

from apps.catalog import curation
from apps.catalog.models import BaseModel, Dataset


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_curated_models_are_loaded_on_migrate():
    keys = set(BaseModel.objects.filter(is_custom=False).values_list("key", flat=True))
    assert keys == {entry["key"] for entry in curation.curated_models()}
    families = set(BaseModel.objects.values_list("family", flat=True))
    assert {"Qwen3", "Qwen2.5", "Llama 3", "Mistral", "Gemma 3", "Phi", "DeepSeek-R1 Distill", "SmolLM2"} <= families
    assert Dataset.objects.filter(source="builtin").count() == len(curation.builtin_datasets())


@pytest.mark.django_db
def test_sync_keeps_admin_edits_unless_asked_to_update():
    BaseModel.objects.filter(key="qwen3-8b").update(template="edited")
    curation.sync()
    assert BaseModel.objects.get(key="qwen3-8b").template == "edited"
    curation.sync(update=True)
    assert BaseModel.objects.get(key="qwen3-8b").template == "qwen3"


@pytest.mark.django_db
def test_model_browse_search_and_filters(logged_in):
    page = logged_in.get(reverse("catalog:models"), {"q": "smollm2"}).content.decode()
    assert "SmolLM2 135M Instruct" in page and "Qwen3 8B" not in page
    page = logged_in.get(reverse("catalog:models"), {"family": "Gemma 3", "modality": "vision"}).content.decode()
    assert "Gemma 3 4B IT" in page and "Gemma 3 1B IT" not in page
    page = logged_in.get(reverse("catalog:models"), {"size": "large"}).content.decode()
    assert "Llama 3.3 70B Instruct" in page and "Qwen3 8B" not in page
    partial = logged_in.get(reverse("catalog:models"), {"q": "phi"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "Phi-4 14B" in partial


@pytest.mark.django_db
def test_model_detail_lists_fitting_instances(logged_in):
    page = logged_in.get(reverse("catalog:model-detail", args=["qwen3-8b"])).content.decode()
    assert "LoRA training" in page and "Full fine-tuning" in page and "Serving" in page
    model = BaseModel.objects.get(key="qwen3-8b")
    assert model.training_instance_types("lora")[0].name in page
    assert logged_in.get(reverse("catalog:model-detail", args=["nope"])).status_code == 404


@pytest.mark.django_db
def test_instance_fitting_grows_with_the_method(user):
    model = BaseModel.objects.get(key="qwen3-8b")
    qlora = {t.name for t in model.training_instance_types("qlora")}
    lora = {t.name for t in model.training_instance_types("lora")}
    full = {t.name for t in model.training_instance_types("full")}
    assert full < lora < qlora
    needed = model.memory_needed_gib("full")
    assert all(t.gpu_memory_gib >= needed for t in model.training_instance_types("full"))
    assert "ml.g5.2xlarge" in {t.name for t in model.serving_instance_types()}  # 24 GiB serves 8B in bf16
    with pytest.raises(ValueError):
        model.training_instance_types("dora")


@pytest.mark.django_db
def test_add_custom_model_page(logged_in, user):
    response = logged_in.post(reverse("catalog:model-add"), {"display_name": "Mine", "template": "qwen3",
                                                             "parameters_b": "7", "s3_uri": "not-s3"})
    assert response.status_code == 400
    assert "Enter an S3 prefix" in response.content.decode()
    response = logged_in.post(reverse("catalog:model-add"), {
        "display_name": "Mine", "template": "qwen3", "parameters_b": "7", "s3_uri": "s3://my-bucket/models/mine/",
        "context_length": "8192", "modality": "text", "lora_targets": "all"})
    model = BaseModel.objects.get(owner=user)
    assert response.status_code == 302 and model.source_uri == "s3://my-bucket/models/mine/" and model.is_custom


@pytest.mark.django_db
def test_register_page_errors_and_builtin(logged_in, user):
    url = reverse("catalog:dataset-register")
    response = logged_in.post(url, {"name": "x", "source": "hf", "source_uri": "not a repo"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a Hugging Face dataset id" in body and "Choose the format" in body
    response = logged_in.post(url, {"name": "x", "source": "builtin", "source_uri": "made_up"})
    assert "is not a built-in dataset" in response.content.decode()
    response = logged_in.post(url, {"name": "Demo", "source": "builtin", "source_uri": "dpo_en_demo"})
    dataset = Dataset.objects.get(owner=user, name="Demo")
    assert response.status_code == 302 and dataset.status == "ready" and dataset.job_types == ["dpo", "rm"]


@pytest.mark.django_db
def test_api_registration_validation(user_api):
    response = user_api.post("/api/v1/datasets/", {"name": "s", "source": "s3", "source_uri": "bucket/x"},
                             format="json")
    assert response.status_code == 400 and "source_uri" in response.json()["errors"]
    assert not Dataset.objects.filter(name="s").exists()


@pytest.mark.django_db
def test_dataset_pages_and_dashboard(logged_in, user):
    assert logged_in.get(reverse("catalog:datasets")).status_code == 200
    builtin = logged_in.get(reverse("catalog:datasets"), {"show": "builtin", "job_type": "grpo"}).content.decode()
    assert "hiyouga/math12k" in builtin and "alpaca_en_demo" not in builtin
    assert logged_in.get(reverse("catalog:dataset-upload")).status_code == 200
    dashboard = logged_in.get(reverse("dashboard")).content.decode()
    assert "Datasets" in dashboard and "base models" in dashboard


@pytest.mark.django_db
def test_detail_polls_while_validating_then_refreshes(logged_in, user, settings, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.catalog import services

    from .conftest import CORPUS

    with django_capture_on_commit_callbacks(execute=False):
        dataset = services.create_from_upload(owner=user, name="slow", uploaded_file=SimpleUploadedFile(
            "t.jsonl", (CORPUS / "good/text.jsonl").read_bytes()))
    url = reverse("catalog:dataset-detail", args=[dataset.pk])
    polling = logged_in.get(url, {"part": "status"}, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 3s"' in polling.content.decode() and "HX-Refresh" not in polling
    services.validate(dataset.pk)
    done = logged_in.get(url, {"part": "status"}, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true" and "every 3s" not in done.content.decode()


@pytest.mark.django_db
def test_models_that_fit_an_instance(user_api, logged_in):
    def keys(**params):
        return {m["key"] for m in user_api.get("/api/v1/models/", {"page_size": 200, **params}).json()["results"]}

    from apps.catalog import instances, sizing

    gib = instances.get("ml.g5.2xlarge").gpu_memory_gib  # one 24 GiB A10G
    serve = keys(fits="ml.g5.2xlarge", use="serve")
    expected = {m.key for m in BaseModel.objects.all() if sizing.memory_needed_gib(m.parameters_b, "serve") <= gib}
    assert serve == expected and "qwen3-8b" in serve and "qwen3-32b" not in serve
    assert keys(fits="ml.g5.2xlarge", use="full") < keys(fits="ml.g5.2xlarge", use="lora") < keys(
        fits="ml.g5.2xlarge", use="qlora")
    page = logged_in.get(reverse("catalog:models"), {"fits": "ml.g5.2xlarge", "use": "full"}).content.decode()
    assert "SmolLM2 135M Instruct" in page and "Qwen3 8B<" not in page


@pytest.mark.django_db
def test_prompt_answer_detail_shows_the_easyr1_settings(logged_in, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.catalog import services

    from .conftest import CORPUS

    dataset = services.create_from_upload(owner=user, name="maths", val_fraction=0.25, uploaded_file=SimpleUploadedFile(
        "m.jsonl", (CORPUS / "good/prompt_answer.jsonl").read_bytes()))
    page = logged_in.get(dataset.get_absolute_url()).content.decode()
    assert "EasyR1 data settings" in page and "easyr1/train.jsonl@train" in page and "every 4th row" in page
