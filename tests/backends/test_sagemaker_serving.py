"""The SageMaker serving backend against moto: request shapes, adoption, bulk polling, scaling, deletion, logs.

moto accepts only legacy instance types in endpoint configs (ml.g4dn.*, ml.p3.*), puts endpoints
InService at once and deletes them at once; the walk through Creating/Updating/Deleting is tested
through `state_for` below, and the rows' walk with the fake target in tests/endpoints/test_lifecycle.py.
"""

import time

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from apps.backends import aws
from apps.backends.base import Capability, EndpointPhase
from apps.backends.sagemaker import serving
from apps.backends.sagemaker.serving import SageMakerServing
from apps.endpoints.deployment import deployment, ref
from apps.endpoints.models import Endpoint
from tests.endpoints.factories import ROLE, make_endpoint, spec_dict

pytestmark = pytest.mark.django_db
REGION = "us-east-1"


@pytest.fixture
def moto(monkeypatch, settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings.AWS_REGION = REGION
    settings.SAGEMAKER_ROLE_ARN = ROLE
    aws.client.cache_clear()
    with mock_aws():
        yield boto3.client("sagemaker", region_name=REGION)
    aws.client.cache_clear()


@pytest.fixture
def calls():
    """Names of the SageMaker / autoscaling API operations the backend sends, in order."""
    seen = []

    def record(event_name, **kwargs):
        seen.append(event_name.rsplit(".", 1)[-1])

    for service in ("sagemaker", "application-autoscaling"):
        client = aws.client(service)
        client.meta.events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.*", record)
    return seen


def test_deploy_creates_model_config_and_endpoint_with_expected_shapes(moto, user):
    endpoint = make_endpoint(user, model_uri="s3://models-bucket/jobs/7/merged")
    state = SageMakerServing().deploy(deployment(endpoint))
    name = endpoint.remote_name
    assert name.startswith("mh-") and name.endswith(f"-{endpoint.pk}")

    model = moto.describe_model(ModelName=name)
    assert model["ExecutionRoleArn"] == ROLE
    container = model["PrimaryContainer"]
    assert container["Image"] == f"763104351884.dkr.ecr.{REGION}.amazonaws.com/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker"
    env = container["Environment"]
    assert env["SM_VLLM_MODEL"] == "/opt/ml/model"
    assert env["SM_VLLM_SERVED_MODEL_NAME"] == "merged"
    assert env["SM_VLLM_MAX_MODEL_LEN"] == "4096"
    assert env["SM_VLLM_TENSOR_PARALLEL_SIZE"] == "1"
    assert "SM_VLLM_PORT" not in env
    assert container["ModelDataSource"] == {"S3DataSource": {
        "S3Uri": "s3://models-bucket/jobs/7/merged/", "S3DataType": "S3Prefix", "CompressionType": "None"}}

    config = moto.describe_endpoint_config(EndpointConfigName=name)
    [variant] = config["ProductionVariants"]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["ModelName"] == name
    assert variant["InstanceType"] == "ml.g4dn.xlarge"
    assert variant["InitialInstanceCount"] == 1
    assert variant["ContainerStartupHealthCheckTimeoutInSeconds"] == 900
    assert variant["ModelDataDownloadTimeoutInSeconds"] == 1200
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"

    described = moto.describe_endpoint(EndpointName=name)
    assert described["EndpointConfigName"] == name
    assert state.remote_status == described["EndpointStatus"] == "InService"
    assert state.phase == EndpointPhase.IN_SERVICE and not state.adopted
    assert state.invocation_url == f"https://runtime.sagemaker.{REGION}.amazonaws.com/endpoints/{name}/invocations"
    tags = {t["Key"]: t["Value"] for t in moto.list_tags(ResourceArn=described["EndpointArn"])["Tags"]}
    assert tags["modelhub:endpoint-id"] == str(endpoint.pk)


def test_repo_id_model_has_no_data_source_and_loads_by_id(moto, user):
    endpoint = make_endpoint(user, source="hf", model_uri="Qwen/Qwen2.5-0.5B-Instruct",
                             served_model_name="Qwen2.5-0.5B-Instruct", instance_type="ml.p3.2xlarge",
                             spec=spec_dict("ml.p3.2xlarge"))
    SageMakerServing().deploy(deployment(endpoint))
    container = moto.describe_model(ModelName=endpoint.remote_name)["PrimaryContainer"]
    assert "ModelDataSource" not in container
    assert container["Environment"]["SM_VLLM_MODEL"] == "Qwen/Qwen2.5-0.5B-Instruct"
    variant = moto.describe_endpoint_config(EndpointConfigName=endpoint.remote_name)["ProductionVariants"][0]
    assert variant["InstanceType"] == "ml.p3.2xlarge"


def test_a_gated_model_gets_the_owners_token_in_the_container_environment(moto, user):
    from apps.users.models import UserSecret

    UserSecret.objects.create(owner=user, name="hf-main", kind="hf_token", value="hf_tokenValueForTheGatedModel")
    endpoint = make_endpoint(user, source="hf", model_uri="meta-llama/Llama-3.1-8B-Instruct", served_model_name="llama",
                             instance_type="ml.p3.2xlarge", spec=spec_dict("ml.p3.2xlarge", hf_token_ref="hf-main"))
    SageMakerServing().deploy(deployment(endpoint))
    environment = moto.describe_model(ModelName=endpoint.remote_name)["PrimaryContainer"]["Environment"]
    assert environment["HF_TOKEN"] == "hf_tokenValueForTheGatedModel"
    assert environment["SM_VLLM_MODEL"] == "meta-llama/Llama-3.1-8B-Instruct"


@pytest.mark.parametrize("engine, image, variable", [
    ("sglang", "sglang:0.5.20-gpu-py312-cu130-ubuntu24.04-sagemaker", "SM_SGLANG_MODEL_PATH"),
    ("lmi", "djl-inference:0.36.0-lmi", "OPTION_MODEL_ID"),
])
def test_other_engines_get_their_image_and_environment(moto, user, engine, image, variable):
    spec = spec_dict(engine=engine, engine_version="", dtype="auto")
    endpoint = make_endpoint(user, spec=spec)
    Endpoint.objects.filter(pk=endpoint.pk).update(engine=engine)
    SageMakerServing().deploy(deployment(endpoint))
    container = moto.describe_model(ModelName=endpoint.remote_name)["PrimaryContainer"]
    assert image in container["Image"]
    assert container["Environment"][variable] == "/opt/ml/model"
    assert container["ModelDataSource"]["S3DataSource"]["CompressionType"] == "None"


def test_second_deploy_adopts_everything_and_creates_nothing(moto, user, calls):
    endpoint = make_endpoint(user)
    backend = SageMakerServing()
    backend.deploy(deployment(endpoint))
    first = [c for c in calls if c.startswith("Create")]
    assert first == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    calls.clear()
    state = backend.deploy(deployment(endpoint))
    assert [c for c in calls if c.startswith("Create")] == []
    assert state.remote_status == "InService" and state.adopted
    assert [e["EndpointName"] for e in moto.list_endpoints()["Endpoints"]] == [endpoint.remote_name]
    assert len(moto.list_models()["Models"]) == 1


def test_deploy_after_a_crash_between_steps_creates_only_what_is_missing(moto, user, calls):
    endpoint = make_endpoint(user)
    # A previous attempt created the model, then its worker died.
    moto.create_model(ModelName=endpoint.remote_name, ExecutionRoleArn=ROLE,
                      PrimaryContainer={"Image": "previous-attempt:1"})
    SageMakerServing().deploy(deployment(endpoint))
    assert [c for c in calls if c.startswith("Create")] == ["CreateEndpointConfig", "CreateEndpoint"]
    assert moto.describe_model(ModelName=endpoint.remote_name)["PrimaryContainer"]["Image"] == "previous-attempt:1"


def test_a_duplicate_name_error_means_adopt(settings, user):
    """A concurrent attempt created the model between our describe and our create: AWS says it exists."""
    settings.SAGEMAKER_ROLE_ARN = ROLE
    endpoint = make_endpoint(user)
    name = endpoint.remote_name
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    backend = SageMakerServing()
    stub = Stubber(client)
    missing = {"service_error_code": "ValidationException", "http_status_code": 400}
    stub.add_client_error("describe_model", service_message=f"Could not find model \"{name}\".", **missing)
    stub.add_client_error("create_model", service_message=f"Cannot create already existing model \"{name}\".",
                          **missing)
    stub.add_client_error("describe_endpoint_config", service_message="Could not find endpoint configuration.", **missing)
    stub.add_client_error("create_endpoint_config", service_message="Cannot create already existing endpoint configuration.",
                          **missing)
    stub.add_client_error("describe_endpoint", service_message="Could not find endpoint.", **missing)
    stub.add_client_error("create_endpoint", service_message="Cannot create already existing endpoint.", **missing)
    described = {"EndpointName": name, "EndpointArn": f"arn:aws:sagemaker:{REGION}:1:endpoint/{name}",
                 "EndpointConfigName": name, "EndpointStatus": "Creating",
                 "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z"}
    stub.add_response("describe_endpoint", described, {"EndpointName": name})
    with stub, pytest.MonkeyPatch.context() as mp:
        mp.setattr(serving, "client", lambda service: client)
        state = backend.deploy(deployment(endpoint))
    stub.assert_no_pending_responses()
    assert (state.remote_status, state.phase, state.adopted) == ("Creating", EndpointPhase.CREATING, True)


def test_deploy_without_a_role_is_a_clear_error(moto, user, settings):
    from apps.backends.errors import RemoteValidationError

    settings.SAGEMAKER_ROLE_ARN = ""
    with pytest.raises(RemoteValidationError, match="SAGEMAKER_ROLE_ARN"):
        SageMakerServing().deploy(deployment(make_endpoint(user)))
    assert moto.list_models()["Models"] == []


def test_delete_removes_endpoint_config_and_model_and_tolerates_pieces_gone(moto, user):
    endpoint = make_endpoint(user)
    backend = SageMakerServing()
    backend.deploy(deployment(endpoint))
    backend.delete(ref(endpoint))
    assert moto.list_endpoints()["Endpoints"] == []
    assert moto.list_endpoint_configs()["EndpointConfigs"] == []
    assert moto.list_models()["Models"] == []
    backend.delete(ref(endpoint))  # everything already gone: still fine
    assert backend.poll_many([ref(endpoint)])[endpoint.remote_name].phase == EndpointPhase.NOT_FOUND


def test_delete_of_a_half_made_deployment(moto, user):
    endpoint = make_endpoint(user)
    moto.create_model(ModelName=endpoint.remote_name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x:1"})
    SageMakerServing().delete(ref(endpoint))
    assert moto.list_models()["Models"] == []


def test_poll_many_lists_in_bulk_and_describes_only_on_change(moto, user, calls):
    backend = SageMakerServing()
    endpoints = [make_endpoint(user, model_uri=f"s3://models-bucket/m{i}/") for i in range(3)]
    for endpoint in endpoints:
        backend.deploy(deployment(endpoint))
    calls.clear()
    states = backend.poll_many([ref(e) for e in endpoints])
    assert {name: s.remote_status for name, s in states.items()} == {e.remote_name: "InService" for e in endpoints}
    assert calls.count("ListEndpoints") == 1
    assert calls.count("DescribeEndpoint") == 3  # first sight: every status is new

    for endpoint in endpoints:
        endpoint.remote_status = "InService"
    calls.clear()
    backend.poll_many([ref(e) for e in endpoints])
    assert calls == ["ListEndpoints"]  # nothing changed: no describe at all


def test_poll_many_lists_only_modelhub_endpoints(moto, user, calls):
    endpoint = make_endpoint(user)
    SageMakerServing().deploy(deployment(endpoint))
    moto.create_endpoint(EndpointName="someone-elses", EndpointConfigName=endpoint.remote_name)
    requests = []
    aws.client("sagemaker").meta.events.register("before-parameter-build.sagemaker.ListEndpoints",
                                                  lambda params, **kw: requests.append(params))
    states = SageMakerServing().poll_many([ref(endpoint)])
    assert list(states) == [endpoint.remote_name]
    assert requests[0]["NameContains"] == "mh-"


def test_poll_many_reports_a_vanished_endpoint(moto, user):
    endpoint = make_endpoint(user)
    endpoint.remote_status = "InService"
    state = SageMakerServing().poll_many([ref(endpoint)])[endpoint.remote_name]
    assert state.phase == EndpointPhase.NOT_FOUND and state.remote_status == ""


def test_update_changes_instance_count(moto, user):
    endpoint = make_endpoint(user)
    backend = SageMakerServing()
    backend.deploy(deployment(endpoint))
    endpoint.instance_count = 3
    backend.update(deployment(endpoint), ref(endpoint))
    variant = moto.describe_endpoint(EndpointName=endpoint.remote_name)["ProductionVariants"][0]
    assert variant["DesiredInstanceCount"] == 3


def test_update_registers_and_deregisters_autoscaling_and_delete_removes_it(moto, user):
    scaling = boto3.client("application-autoscaling", region_name=REGION)
    endpoint = make_endpoint(user)
    backend = SageMakerServing()
    backend.deploy(deployment(endpoint))
    resource = f"endpoint/{endpoint.remote_name}/variant/AllTraffic"

    endpoint.spec = {**endpoint.spec, "autoscaling": {"min_instances": 1, "max_instances": 4,
                                                       "target_invocations_per_instance": 70}}
    backend.update(deployment(endpoint), ref(endpoint))
    [target] = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (resource, 1, 4)
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"

    endpoint.spec = {**endpoint.spec, "autoscaling": None}
    backend.update(deployment(endpoint), ref(endpoint))
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []

    endpoint.spec = {**endpoint.spec, "autoscaling": {"min_instances": 1, "max_instances": 2,
                                                       "target_invocations_per_instance": 10}}
    backend.update(deployment(endpoint), ref(endpoint))
    backend.delete(ref(endpoint))
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []


def test_logs_are_the_last_lines_of_the_endpoint_log_group(moto, user):
    endpoint = make_endpoint(user)
    logs = boto3.client("logs", region_name=REGION)
    assert SageMakerServing().logs(ref(endpoint)).lines == []  # no group yet
    group = f"/aws/sagemaker/Endpoints/{endpoint.remote_name}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-0abc")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-0abc", logEvents=[
        {"timestamp": now - 1000 + i, "message": f"line {i}"} for i in range(30)])
    page = SageMakerServing().logs(ref(endpoint), limit=5)
    assert [line.message for line in page.lines] == [f"line {i}" for i in range(25, 30)]


def test_deploy_task_twice_against_moto_adopts(moto, user, calls):
    """The deploy task run twice, the second time after its status write was lost (row still queued)."""
    from apps.backends import registry
    from apps.endpoints import tasks

    registry.reset()
    endpoint = make_endpoint(user)
    tasks.deploy_endpoint.run(endpoint.pk)
    tasks.deploy_endpoint.run(endpoint.pk)  # not queued any more: does nothing
    Endpoint.objects.filter(pk=endpoint.pk).update(status="queued")
    calls.clear()
    tasks.deploy_endpoint.run(endpoint.pk)
    assert [c for c in calls if c.startswith("Create")] == []
    assert len(moto.list_models()["Models"]) == len(moto.list_endpoint_configs()["EndpointConfigs"]) == 1
    assert [e["EndpointName"] for e in moto.list_endpoints()["Endpoints"]] == [endpoint.remote_name]
    endpoint.refresh_from_db()
    assert endpoint.status == "in_service"  # moto is InService at once; the task adopts that state


@pytest.mark.parametrize("status, phase", [
    ("Creating", EndpointPhase.CREATING), ("InService", EndpointPhase.IN_SERVICE),
    ("Updating", EndpointPhase.UPDATING), ("RollingBack", EndpointPhase.UPDATING),
    ("SystemUpdating", EndpointPhase.MAINTENANCE), ("Deleting", EndpointPhase.DELETING),
    ("Failed", EndpointPhase.FAILED), ("OutOfService", EndpointPhase.FAILED),
    ("UpdateRollbackFailed", EndpointPhase.FAILED), ("Hibernating", EndpointPhase.UNKNOWN),
])
def test_every_endpoint_status_has_a_phase(status, phase):
    state = serving.state_for("mh-x-1", status)
    assert (state.phase, state.remote_status) == (phase, status)
    if phase == EndpointPhase.FAILED:
        assert state.failure_reason  # a reason even when the service gave none
    assert set(serving.PHASES) == serving.ENDPOINT_STATUSES


def test_failure_words_explain_statuses_without_a_reason():
    assert serving.state_for("n", "OutOfService").failure_reason == "SageMaker reports the endpoint out of service."
    assert serving.state_for("n", "Failed", "Image not found").failure_reason == "Image not found"
    assert "maintenance" in serving.state_for("n", "SystemUpdating").message


def test_adapters_are_mounted_as_their_own_channels(moto, user):
    spec = spec_dict(lora_adapters=[{"name": "support", "source": "s3://models-bucket/jobs/9/adapter/"}],
                     max_lora_rank=16)
    endpoint = make_endpoint(user, spec=spec)
    SageMakerServing().deploy(deployment(endpoint))
    container = moto.describe_model(ModelName=endpoint.remote_name)["PrimaryContainer"]
    assert container["AdditionalModelDataSources"] == [{"ChannelName": "support", "S3DataSource": {
        "S3Uri": "s3://models-bucket/jobs/9/adapter/", "S3DataType": "S3Prefix", "CompressionType": "None"}}]


def test_readiness_lists_everything_missing_at_once(monkeypatch, settings):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings.SAGEMAKER_ROLE_ARN, settings.AWS_REGION = "", ""
    readiness = SageMakerServing().readiness()
    assert not readiness.usable
    assert [m.split(":")[0].split(" ")[1] for m in readiness.missing] == ["SAGEMAKER_ROLE_ARN", "AWS_REGION", "ModelHub"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.SAGEMAKER_ROLE_ARN, settings.AWS_REGION = ROLE, REGION
    assert SageMakerServing().readiness().usable


def test_capabilities_and_label():
    assert SageMakerServing.label == "SageMaker"
    assert SageMakerServing.capabilities == {Capability.LOGS, Capability.SCALING, Capability.AUTOSCALING,
                                             Capability.STREAMING_CHAT, Capability.ADAPTERS}
