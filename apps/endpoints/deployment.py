"""What an endpoint's serving backend is handed: built here, once, from the row.

`deployment(endpoint)` is the whole request to create or update it (the engine's environment and
command line rendered by `engines`, the model and its adapters, instances, autoscaling, the
target's options, the endpoint's API key); `ref(endpoint)` is how the backend finds and talks to it
afterwards (the target's options again, the name the engine serves the model under, the key).
"""

from apps.backends.base import API_KEY_SECRET, Autoscaling, Deployment, EndpointRef, ModelSource
from apps.core.huggingface import HF_TOKEN_ENV
from apps.users import stored_secrets
from apps.users.models import execution_role_for

from . import engines
from .models import Endpoint
from .spec import DeploySpec, ModelFacts

# Spec fields a target may use as they are (SageMaker: the production variant's timeouts and AMI).
OPTIONS = ("container_startup_health_check_timeout", "model_data_download_timeout", "inference_ami_version")


def autoscaling(values: dict | None) -> Autoscaling | None:
    if not values:
        return None
    extra = {key: int(values[key]) for key in ("scale_in_cooldown", "scale_out_cooldown") if values.get(key)}
    return Autoscaling(min_instances=int(values["min_instances"]), max_instances=int(values["max_instances"]),
                       target_invocations_per_instance=int(values["target_invocations_per_instance"]), **extra)


def secrets(endpoint: Endpoint, spec: DeploySpec) -> dict[str, str]:
    """The endpoint's API key and the owner's stored Hugging Face token (gated models), read now, as training
    reads its secrets at submit; raises stored_secrets.MissingSecret (a ValueError) when the token is gone."""
    values = {API_KEY_SECRET: endpoint.api_key} if endpoint.api_key else {}
    if spec.needs_hf_token:
        values.update(stored_secrets.read(endpoint.owner_id, {HF_TOKEN_ENV: spec.hf_token_ref},
                                          remedy="deploy the model again"))
    return values


def deployment(endpoint: Endpoint) -> Deployment:
    """The Deployment for the row as it is now; raises a ValueError when its spec cannot be rendered
    (engines.EngineConfigError) or a stored secret it names is gone (stored_secrets.MissingSecret)."""
    spec = DeploySpec.from_dict(endpoint.spec)
    model = ModelFacts(source_uri=endpoint.model_uri, name=endpoint.served_model_name)
    argv = ()
    if spec.engine in engines.LAUNCHERS:
        argv = (*engines.engine_command(spec.engine),
                *engines.engine_argv(spec, model, engines.DEFAULT_ENGINE_PORTS[spec.engine]))
    return Deployment(
        endpoint_id=endpoint.pk,
        remote_name=endpoint.remote_name,
        owner=endpoint.owner.get_username(),
        display_name=endpoint.name,
        engine=spec.engine,
        engine_version=spec.engine_version,
        served_model_name=endpoint.served_model_name,
        model=ModelSource(uri=endpoint.model_uri, adapters=tuple((a.name, a.source) for a in spec.lora_adapters)),
        instance_type=endpoint.instance_type,
        instance_count=endpoint.instance_count,
        environment=engines.sagemaker_environment(spec, model),
        argv=argv,
        autoscaling=autoscaling(endpoint.autoscaling),
        options={**{key: endpoint.spec[key] for key in OPTIONS if (endpoint.spec or {}).get(key)},
                 **spec.target_options},
        secrets=secrets(endpoint, spec),
        execution_role=execution_role_for(endpoint.owner) or "",
    )


def ref(endpoint: Endpoint) -> EndpointRef:
    options = {**((endpoint.spec or {}).get("target_options") or {}), "served_model_name": endpoint.served_model_name}
    return EndpointRef(
        endpoint_id=endpoint.pk, remote_name=endpoint.remote_name, region=endpoint.region,
        invocation_url=endpoint.invocation_url, last_status=endpoint.remote_status, options=options,
        api_key=endpoint.api_key,
    )
