"""Walk every page in Simplified Chinese and fail on English left in what the user reads.

Every GET route of the site (not Django admin, not the API: see API_IS_ENGLISH) is rendered for a signed-in
admin with sample objects of every kind, in Chinese. Each visible text node (and the placeholder / title
attributes a user reads) must carry no run of English words, once the values that come from the sample data
(names, model ids, instance types: listed from the objects themselves) and the ALLOWED product words are taken
out."""

import html
import re

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from apps.catalog.models import BaseModel, Dataset
from apps.chat.models import Conversation
from apps.clusters.models import Cluster
from apps.endpoints.models import EndpointEvent
from apps.jobs.models import JobEvent
from apps.users.models import ApiToken, User
from tests.endpoints.factories import make_endpoint
from tests.jobs.factories import make_dataset, make_job
from tests.routes import routes

pytestmark = pytest.mark.django_db

# The API keeps English messages and error codes (clients match on them); its schema and docs say so.
API_IS_ENGLISH = ("api/", "v1/", "admin/")

# Product, vendor and format names, units and code words shown as they are in Chinese pages too.
ALLOWED = {
    "ModelHub", "Django", "SageMaker", "HyperPod", "AWS", "EKS", "S3", "IAM", "ECR", "ARN", "API", "OpenAI", "Hugging Face",
    "LLaMA-Factory", "EasyR1", "vLLM", "SGLang", "TGI", "LMI", "LoRA", "QLoRA", "GPU", "GPUs", "CPU", "JSON",
    "JSONL", "YAML", "CSV", "Parquet", "URL", "URI", "ID", "SFT", "DPO", "KTO", "PPO", "GRPO", "DAPO", "GSPO",
    "CISPO", "RM", "PT", "RLHF", "Alpaca", "ShareGPT", "token", "tokens", "kubeconfig", "Kubernetes", "bf16",
    "fp16", "float16", "bfloat16", "MB", "GB", "KB", "TB", "bytes", "Qwen", "Llama", "Mistral", "Gemma", "DeepSeek",
    "Amazon", "CloudWatch", "Phi", "MLflow", "wandb", "Weights & Biases", "SwanLab", "TensorBoard", "Bearer", "curl", "Python",
    "Authorization", "UTC", "Enter", "Shift", "Esc", "TLS", "HTTP", "HTTPS", "GiB", "vCPU", "On-Demand", "Spot",
    # training and serving techniques and tools, named as their authors spell them
    "DeepSpeed", "ZeRO", "FSDP", "DoRA", "rsLoRA", "PiSSA", "GaLore", "APOLLO", "BAdam", "Adam", "AdamW", "NEFTune",
    "RoPE", "SVD", "Jinja", "CUDA", "Redis", "VPC", "AMI", "CLI", "Helm", "JSON Lines", "UTF-8", "Markdown", "MiB",
}

# Pages for visitors who have not signed in (the browser's language applies).
SIGNED_OUT = {"login"}

# Routes that answer files or redirects, not pages.
NOT_PAGES = {"jobs:log_download", "jobs:output_download", "catalog:dataset-thumbnail", "set-language", "logout", "healthz", "api-docs"}


def path_for(pattern: str, ids: dict) -> str:
    name = pattern
    for key, value in ids.items():
        name = name.replace(f"<int:{key}>", str(value)).replace(f"<slug:{key}>", str(value))
    return "/" + name


@pytest.fixture
def world(client, admin_user):
    User.objects.filter(pk=admin_user.pk).update(language="zh-hans")
    client.force_login(admin_user)
    job = make_job(admin_user, name="run-7", status="queued")  # not started: its logs page asks no cloud
    make_job(admin_user, name="run-8", status="running", step=5, total_steps=10)
    make_job(admin_user, name="run-9", status="failed", status_reason="exit 1")
    endpoint = make_endpoint(admin_user, name="chat-1", status="in_service")
    dataset = make_dataset(admin_user, "alpaca", name="alpaca-zh")
    cluster = Cluster.objects.create(owner=admin_user, name="gpu-east", region="us-east-1", access="eks",
                                     eks_cluster_name="hyperpod-eks", namespace="modelhub",
                                     hyperpod_cluster_arn="arn:aws:sagemaker:us-east-1:123456789012:cluster/abc1")
    Conversation.objects.create(owner=admin_user, endpoint_name=endpoint.name)
    token, _ = ApiToken.issue(admin_user, "laptop")
    model = BaseModel.objects.order_by("key").first()
    data = {admin_user.username, endpoint.engine, job.name, "run-8", "run-9", "exit 1", *map(str, job.spec.values()), endpoint.name, endpoint.served_model_name, dataset.name,
            cluster.name, cluster.region, cluster.eks_cluster_name, cluster.namespace, token.name}
    for row in BaseModel.objects.values("key", "display_name", "repo_id", "family", "license", "description"):
        data |= set(row.values())  # the catalog's own content, in the words of its publishers
    data |= backend_words() | set(Group.objects.values_list("name", flat=True))
    data |= set(Dataset.objects.values_list("name", flat=True))  # the built-in datasets' names too
    data |= {endpoint.remote_name, endpoint.invocation_url or "", endpoint.model_uri}
    # timeline events are stored as they were written (English), like log lines
    data |= set(JobEvent.objects.values_list("message", flat=True)) | set(EndpointEvent.objects.values_list("message", flat=True))
    per_app = {"jobs": job.pk, "endpoints": endpoint.pk, "clusters": cluster.pk, "users-admin": admin_user.pk,
               "catalog": dataset.pk}
    return client, per_app, {"key": model.key, "token_pk": token.pk}, {d for d in data if d}


def backend_words() -> set[str]:
    """What the compute targets say of themselves (settings to set, vendor errors): English from the backends."""
    from apps.core import readiness

    return {text for target in readiness.compute() for text in (*target.missing, target.detail, target.label)}


WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ][A-Za-z][A-Za-z'’-]*)*")


def english_runs(page: str, data: set[str]) -> list[str]:
    page = re.sub(r"<(script|style|pre|code|textarea)\b.*?</\1>", " ", page, flags=re.S | re.I)
    # Text a cloud or a tool wrote (an AWS error message, as it came) is marked `data-raw lang="en"`: it is
    # not ours to translate, and the page says what happened in the user's language next to it.
    page = re.sub(r"<(\w+)\b[^>]*\bdata-raw\b[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<option\b[^>]*>[^<]*</option>", " ", page)  # values a user picks, checked by the forms' tests
    texts = re.findall(r">([^<]+)<", page) + re.findall(r'\b(?:placeholder|title)="([^"]*)"', page)
    found = []
    for text in texts:
        text = html.unescape(text)
        for word in sorted(data | ALLOWED, key=len, reverse=True):  # whole phrases first: they may hold slugs
            if word in text:
                text = re.sub(rf"(?<![\w-]){re.escape(word)}(?![\w-])", " ", text)
        text = re.sub(r"\b[a-z][a-z0-9]*(?:-[a-z0-9]+)+\b", " ", text)  # slugs: names, not prose
        text = re.sub(r"\b(?:ml|s3|arn|https?)[\w:./-]*|\S*[/_.@=]\S*|\b[a-z]+[0-9]\S*", " ", text)  # ids, paths, code
        found += [run for run in WORDS.findall(text) if len(run.replace(" ", "")) > 2]
    return found


def test_every_page_reads_in_chinese(world):
    client, per_app, extra, data = world
    walked, left = [], {}
    for pattern, name in routes():
        if pattern.startswith(API_IS_ENGLISH) or name in NOT_PAGES or "(?P" in pattern:
            continue
        app = name.split(":")[0]
        ids = {"pk": per_app.get(app, 0), **extra}
        browser = Client(HTTP_ACCEPT_LANGUAGE="zh-hans") if name in SIGNED_OUT else client
        response = browser.get(path_for(pattern, ids))
        if response.status_code == 405 or response.get("Content-Type", "").split(";")[0] != "text/html":
            continue
        assert response.status_code == 200, (name, response.status_code)
        walked.append(name)
        runs = english_runs(response.content.decode(), data)
        if runs:
            left[name] = sorted(set(runs))
    assert len(walked) >= 33, walked  # every page
    assert left == {}, "English left:\n" + "\n".join(f"{name}: {runs}" for name, runs in left.items())


def test_the_walker_leaves_out_only_raw_text():
    page = '<p>无法读取日志。</p><p class="mono" lang="en" data-raw>Unable to locate credentials</p><p>Try again</p>'
    assert english_runs(page, set()) == ["Try again"]


def test_the_walker_sees_english():
    page = '<p>出错了</p><p title="Not found">页面</p><span>run-7</span><b>Queued by admin</b><i>ml.g5.xlarge</i>'
    assert sorted(english_runs(page, {"run-7"})) == ["Not found", "Queued by admin"]
