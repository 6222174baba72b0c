"""The InferenceEndpointConfig renderer: golden files, the CRD schema over every feature combination,
the operator's cross-field rules as field errors. Set UPDATE_GOLDEN=1 to rewrite the golden files."""

import itertools
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from apps.backends.base import ModelSource
from apps.backends.hyperpod import manifest
from apps.backends.base import ClusterFacts, InstanceCapacity

from .factories import API_KEY, FACTS, autoscaling, deployment
from .schema import schema_errors

GOLDEN = Path(__file__).parent / "golden"

FSX = "fsx://fs-0123456789abcdef0/models/qwen3-8b"

GOLDEN_CASES = {
    "vllm_s3_basic": dict(),
    "vllm_s3_routing_kv_autoscaling_key": dict(
        options={"routing": True, "routing_strategy": "kvaware", "kv_cache": True, "kv_cache_l2": "tieredstorage"},
        autoscaling=autoscaling(), secrets={"api_key": API_KEY}),
    "vllm_fsx_no_argv": dict(model=ModelSource(uri=FSX), argv=(), options={"fsx_mount_name": "abcdefgh"}),
    "sglang_s3_routing_key": dict(
        engine="sglang", engine_version="0.5.8", argv=(), instance_type="ml.g5.2xlarge", instance_count=1,
        options={"routing": True, "routing_strategy": "prefixaware"}, secrets={"api_key": API_KEY}),
}


def _dumps(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", sorted(GOLDEN_CASES))
def test_manifest_matches_golden_file(case):
    rendered = _dumps(manifest.render(deployment(**GOLDEN_CASES[case]), FACTS))
    path = GOLDEN / f"{case}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text()


MATRIX = list(itertools.product(
    ("vllm", "sglang"), (False, True), (False, True), (False, True), (False, True), ("s3", "fsx"),
))


@pytest.mark.parametrize("engine, routing, kv_cache, scaling, api_key, source", MATRIX)
def test_every_combination_validates_against_the_crd_schema(engine, routing, kv_cache, scaling, api_key, source):
    target = deployment(
        engine=engine, engine_version="0.5.8" if engine == "sglang" else "0.14.0", argv=(),
        model=ModelSource(uri=FSX if source == "fsx" else "s3://models-bucket/jobs/7/merged/"),
        options={"routing": routing, "kv_cache": kv_cache, "kv_cache_l2": "redis" if kv_cache else "",
                 "kv_cache_l2_url": "redis://cache.internal:6379" if kv_cache else ""},
        autoscaling=autoscaling() if scaling else None,
        secrets={"api_key": API_KEY} if api_key else {},
    )
    if engine == "sglang" and kv_cache:  # an operator rule: refused before anything is rendered
        assert "kv_cache" in manifest.problems(target, FACTS)
        return
    rendered = manifest.render(target, FACTS)
    assert schema_errors(rendered) == []
    spec = rendered["spec"]
    assert ("intelligentRoutingSpec" in spec) == routing
    assert ("kvCacheSpec" in spec) == kv_cache
    assert ("autoScalingSpec" in spec) == scaling
    assert ("environmentVariables" in spec["worker"]) == api_key
    assert spec["modelSourceConfig"]["modelSourceType"] == source
    assert API_KEY not in json.dumps(rendered)


def test_schema_check_itself_catches_what_the_operator_would_reject():
    broken = manifest.render(deployment(), FACTS)
    broken["spec"]["modelSourceConfig"]["modelSourceType"] = "S3"
    broken["spec"]["worker"]["modelInvocationPort"]["name"] = "web"
    broken["spec"]["worker"]["imagePullPolicy"] = "Always"  # not a worker field: a real server drops it
    errors = "\n".join(schema_errors(broken))
    assert "modelSourceType" in errors and "modelInvocationPort/name" in errors and "imagePullPolicy" in errors


# --- resources, image, names ---------------------------------------------------------------------------


def test_resources_split_a_node_between_replicas_and_never_exceed_its_gpus():
    worker = manifest.render(deployment(), FACTS)["spec"]["worker"]
    # TP 2 on a 4-GPU node: two replicas per node share its CPUs and memory.
    assert worker["resources"]["requests"] == {"nvidia.com/gpu": 2, "cpu": "21", "memory": "81Gi"}
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == 2
    too_wide = deployment(argv=(*deployment().argv, "--tensor-parallel-size", "8"))
    errors = manifest.problems(too_wide, FACTS)
    assert "node has 4" in errors["tensor_parallel_size"][0]


def test_worker_image_is_the_ec2_dlc_of_the_clusters_region():
    image = manifest.render(deployment(), FACTS)["spec"]["worker"]["image"]
    assert image == "763104351884.dkr.ecr.us-west-2.amazonaws.com/vllm:0.14.0-gpu-py312-cu129-ubuntu22.04-ec2"
    errors = manifest.problems(deployment(engine_version="0.30.0"), FACTS)
    assert "0.13.0, 0.14.0" in errors["engine_version"][0]
    assert manifest.render(deployment(image="my.registry/vllm:custom"), FACTS)["spec"]["worker"]["image"] == (
        "my.registry/vllm:custom")


def test_labels_link_back_to_the_modelhub_endpoint():
    meta = manifest.render(deployment(), FACTS)["metadata"]
    assert meta["labels"]["modelhub/endpoint-id"] == "42" and meta["labels"]["app.kubernetes.io/managed-by"] == "modelhub"


def test_tls_certificate_location_is_rendered_and_required():
    assert manifest.render(deployment(), FACTS)["spec"]["tlsConfig"] == {
        "tlsCertificateOutputS3Uri": "s3://modelhub-hyperpod-certs/endpoints"}
    errors = manifest.problems(deployment(), replace(FACTS, tls_certificate_s3_uri=""))
    assert "TLS certificate" in errors["cluster"][0]


def test_models_only_from_s3_or_fsx():
    for uri in ("Qwen/Qwen3-8B", "s3://bucket-only/", "file:///tmp/model"):
        assert "S3" in manifest.problems(deployment(model=ModelSource(uri=uri)), FACTS)["model"][0]


def test_nothing_is_rendered_for_an_invalid_deployment():
    with pytest.raises(manifest.ManifestError) as caught:
        manifest.render(deployment(options={"public_load_balancer": True}), FACTS)
    assert set(caught.value.errors) == {"public_load_balancer"}


# --- the operator's cross-field rules -------------------------------------------------------------------


@pytest.mark.parametrize("namespace, routing, limit", [("default", True, 39), ("default", False, 50),
                                                       ("modelhub", True, 38), ("team-a-inference", False, 50)])
def test_name_budget(namespace, routing, limit):
    assert manifest.name_budget(namespace, routing) == limit
    ok = deployment(remote_name="m" * limit, options={"namespace": namespace, "routing": routing})
    long = deployment(remote_name="m" * (limit + 1), options={"namespace": namespace, "routing": routing})
    assert "name" not in manifest.problems(ok, FACTS)
    assert f"At most {limit} characters" in manifest.problems(long, FACTS)["name"][0]


@pytest.mark.parametrize("name", ["mh-qwen-", "-mh", "MH-Qwen", "mh_qwen"])
def test_names_are_lowercase_dns_labels_without_trailing_dash(name):
    assert "name" in manifest.problems(deployment(remote_name=name), FACTS)


def test_capacity_left_for_the_replicas_asked():
    facts = replace(FACTS, instances=(replace(FACTS.instances[0], free_gpus=3),))
    errors = manifest.problems(deployment(instance_count=2), facts)  # 2 × 2 GPUs > 3 free
    assert "need 4 GPUs; the cluster has 3 free" in errors["instance_count"][0]
    assert "instance_type" in manifest.problems(deployment(instance_type="ml.p5.48xlarge"), FACTS)


def test_autoscaling_bounds_hold_the_initial_replicas():
    errors = manifest.problems(deployment(instance_count=2, autoscaling=autoscaling(3, 5)), FACTS)
    assert "between 3 and 5" in errors["instance_count"][0]


# --- regressions for the predecessor's known HyperPod issues ----------------------------------------------


def test_issue_01_api_key_reaches_worker_through_a_secret_reference_never_plain():
    rendered = manifest.render(deployment(secrets={"api_key": API_KEY}), FACTS)
    env = rendered["spec"]["worker"]["environmentVariables"]
    assert env == [{"name": "VLLM_API_KEY",
                    "valueFrom": {"secretKeyRef": {"name": "mh-qwen3-8b-42-api-key", "key": "api-key"}}}]
    assert API_KEY not in json.dumps(rendered)
    secret = manifest.api_key_secret(deployment(secrets={"api_key": API_KEY}))
    assert secret["metadata"]["name"] == "mh-qwen3-8b-42-api-key" and secret["stringData"] == {"api-key": API_KEY}


def test_issue_02_no_kv_cache_spec_for_sglang():
    target = deployment(engine="sglang", engine_version="0.5.8", argv=(), options={"kv_cache": True})
    assert "vLLM only" in manifest.problems(target, FACTS)["kv_cache"][0]
    plain = manifest.render(replace(target, options={"cluster_id": 1}), FACTS)
    assert "kvCacheSpec" not in plain["spec"]


def test_issue_03_operator_derived_names_stay_within_63_characters():
    for namespace in ("default", "ml-serving", "x" * 20):
        for routing in (False, True):
            budget = manifest.name_budget(namespace, routing)
            name = "a" * budget
            assert len(f"prefetch-{name}-inf") <= 63
            if routing:
                assert len(f"{name}-{namespace}-routing-service") <= 63
                assert len(f"alb-{name}-{namespace}") <= 63
                assert len(manifest.router_secret_name(name, namespace)) <= 63


def test_issue_04_public_load_balancer_only_with_routing():
    errors = manifest.problems(deployment(options={"public_load_balancer": True}), FACTS)
    assert "only with intelligent routing" in errors["public_load_balancer"][0]
    assert not manifest.problems(deployment(options={"public_load_balancer": True, "routing": True}), FACTS)


@pytest.mark.parametrize("engine, version, port", [("vllm", "0.14.0", 8000), ("sglang", "0.5.8", 8080)])
def test_issue_05_every_port_matches_the_engine(engine, version, port):
    spec = manifest.render(deployment(engine=engine, engine_version=version, argv=()), FACTS)["spec"]
    args = spec["worker"]["args"]
    assert args[args.index("--port") + 1] == str(port)
    assert spec["worker"]["modelInvocationPort"]["containerPort"] == port
    assert spec["metrics"]["modelMetrics"]["port"] == port
    assert spec["worker"]["probes"]["readinessProbe"]["httpGet"]["port"] == port


def test_issue_05_a_wrong_port_in_argv_is_replaced():
    argv = (*deployment().argv[:-1], "8080")
    args = manifest.render(deployment(argv=argv), FACTS)["spec"]["worker"]["args"]
    assert args[args.index("--port") + 1] == "8000" and args.count("--port") == 1


@pytest.mark.parametrize("engine, version, timeout", [("vllm", "0.14.0", 5), ("sglang", "0.5.8", 10)])
def test_issue_06_readiness_timeout_long_enough_for_the_engine(engine, version, timeout):
    probe = manifest.render(deployment(engine=engine, engine_version=version, argv=()), FACTS)["spec"]["worker"][
        "probes"]["readinessProbe"]
    assert probe["timeoutSeconds"] >= timeout and probe["httpGet"]["path"] == "/health"


@pytest.mark.parametrize("argv", [(), ("--served-model-name", "/opt/ml/model")])
def test_issue_07_command_and_args_serve_the_short_model_name(argv):
    worker = manifest.render(deployment(argv=argv), FACTS)["spec"]["worker"]
    assert worker["command"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    args = worker["args"]
    assert args[args.index("--served-model-name") + 1] == "Qwen3-8B"
    assert args[args.index("--model") + 1] == "/opt/ml/model"


def test_issue_10_tuning_parameters_reach_the_engine():
    argv = ("--max-model-len", "8192", "--tensor-parallel-size", "4", "--gpu-memory-utilization", "0.85",
            "--chat-template", "/opt/ml/model/t.jinja", "--tool-call-parser", "hermes", "--enable-auto-tool-choice")
    args = manifest.render(deployment(argv=argv, instance_count=1), FACTS)["spec"]["worker"]["args"]
    for flag, value in zip(argv[::2], argv[1::2], strict=False):
        if not value.startswith("--"):
            assert args[args.index(flag) + 1] == value
    assert "--enable-auto-tool-choice" in args


def test_issue_12_sglang_exports_metrics_for_the_router():
    args = manifest.render(deployment(engine="sglang", engine_version="0.5.8", argv=()), FACTS)["spec"]["worker"]["args"]
    assert "--enable-metrics" in args and args[args.index("--model-path") + 1] == "/opt/ml/model"


def test_issue_13_readiness_probe_is_in_the_manifest_from_the_start():
    assert "readinessProbe" in manifest.render(deployment(), FACTS)["spec"]["worker"]["probes"]


def test_issue_14_defaults_guard_against_oom_without_a_command_line():
    args = manifest.render(deployment(argv=()), FACTS)["spec"]["worker"]["args"]
    assert args[args.index("--max-model-len") + 1] == "12288"
    assert args[args.index("--gpu-memory-utilization") + 1] == "0.9"


def test_issue_17_kv_cache_drops_prefix_caching_and_prefetch():
    spec = manifest.render(deployment(options={"kv_cache": True}), FACTS)["spec"]
    assert "--enable-prefix-caching" in deployment().argv
    assert "--enable-prefix-caching" not in spec["worker"]["args"]
    assert spec["modelSourceConfig"]["prefetchEnabled"] is False
    assert not any(e["name"] == "ENABLE_PREFIX_CACHING" for e in spec["worker"].get("environmentVariables", []))
    turned_off = deployment(options={"kv_cache": True}, argv=(*deployment().argv, "--no-enable-prefix-caching"))
    assert not {"--enable-prefix-caching", "--no-enable-prefix-caching"} & set(
        manifest.render(turned_off, FACTS)["spec"]["worker"]["args"])


def test_issue_18_l2_tiered_storage_only_on_clusters_that_have_it():
    target = deployment(options={"kv_cache": True, "kv_cache_l2": "tieredstorage"})
    assert not manifest.problems(target, FACTS)
    errors = manifest.problems(target, replace(FACTS, tiered_storage=False))
    assert "no HyperPod tiered storage" in errors["kv_cache_l2"][0]


def test_autoscaling_dimension_is_the_endpoint_name_the_operator_registers():
    spec = manifest.render(deployment(remote_name="mh-Qwen-42".lower(), autoscaling=autoscaling()), FACTS)["spec"]
    trigger = spec["autoScalingSpec"]["cloudWatchTrigger"]
    dimensions = {d["name"]: d["value"] for d in trigger["dimensions"]}
    assert dimensions["EndpointName"] == spec["endpointName"]
    assert trigger["namespace"] == "AWS/SageMaker" and trigger["metricName"] == "Invocations"
    assert (spec["autoScalingSpec"]["minReplicaCount"], spec["autoScalingSpec"]["maxReplicaCount"]) == (1, 4)


def test_cluster_facts_round_trip_through_plain_data():
    capacity = FACTS.instances[0]
    assert InstanceCapacity.from_dict(capacity.as_dict()) == capacity
    assert ClusterFacts(region="x").capacity("ml.g5.2xlarge") is None
