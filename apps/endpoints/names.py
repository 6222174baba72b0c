"""Endpoint names: derived from our endpoint id and the model's name, or supplied by the user.

SageMaker's model, endpoint config and endpoint share one name, which must match
`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$` (at most 63 characters of letters, digits and '-', never
starting or ending with '-'). Derived names are `mh-<model label>-<endpoint id>`: valid by
construction, identical on retry (so a retried create adopts) and unique because the id is the
last dash-separated part and ids never contain '-'.

Kubernetes names (targets on a registered cluster) are lowercase and shorter: the inference operator derives other objects
from the endpoint name (`prefetch-<name>-inf`, `<name>-<namespace>-routing-service`), so the budget
is min(50, 46 - len(namespace)) when intelligent routing is on.
"""

import re
import uuid

from apps.core.naming import remote_name, validate_remote_name

SAGEMAKER_NAME_MAX = 63
SAGEMAKER_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

_K8S_PREFETCH_BUDGET = 63 - len("prefetch--inf")  # 50
_K8S_ROUTING_SERVICE_FIXED = len("--routing-service")  # <name>-<ns>-routing-service ≤ 63


def _unique_part(endpoint_id) -> str:
    if isinstance(endpoint_id, uuid.UUID):
        return endpoint_id.hex
    text = str(endpoint_id).replace("-", "")
    if not text.isascii() or not text.isalnum():
        raise ValueError(f"endpoint id must be alphanumeric, got {endpoint_id!r}")
    return text


def model_label(model_name: str) -> str:
    """The part of a model name worth showing in a remote name: the last path segment.

    `meta-llama/Llama-3.1-8B-Instruct` → `Llama-3.1-8B-Instruct`; `s3://b/jobs/42/merged/` → `merged`.
    """
    segments = [s for s in str(model_name).split("/") if s.strip()]
    return segments[-1] if segments else ""


def endpoint_name(endpoint_id, model_name: str) -> str:
    """The SageMaker name shared by the model, endpoint config and endpoint of one ModelHub endpoint."""
    return remote_name(model_label(model_name), _unique_part(endpoint_id), max_length=SAGEMAKER_NAME_MAX)


def kubernetes_name_budget(namespace: str = "default", routing: bool = False) -> int:
    """Longest Kubernetes endpoint name whose operator-derived object names stay within 63 characters."""
    budget = _K8S_PREFETCH_BUDGET
    if routing:
        budget = min(budget, 63 - _K8S_ROUTING_SERVICE_FIXED - len(namespace))
    return budget


def kubernetes_endpoint_name(endpoint_id, model_name: str, *, namespace: str = "default", routing: bool = False) -> str:
    """Lowercase RFC 1123 name for an endpoint on a Kubernetes cluster, within the operator's length budget."""
    unique = _unique_part(endpoint_id).lower()
    budget = kubernetes_name_budget(namespace, routing)
    if len("mh--") + len(unique) > budget:
        raise ValueError(
            f"Namespace '{namespace}' leaves {budget} characters for endpoint names with routing; use a shorter namespace."
        )
    return remote_name(
        model_label(model_name), unique, max_length=budget, lowercase=True,
    )


def endpoint_name_problems(name: str) -> list[str]:
    """What is wrong with a user-supplied SageMaker endpoint name, in words; empty when valid."""
    problems = validate_remote_name(name, max_length=SAGEMAKER_NAME_MAX)
    if not problems and not SAGEMAKER_NAME_PATTERN.fullmatch(name):  # belt and braces: the service's own rule
        problems.append("Use letters, digits and '-', starting and ending with a letter or digit.")
    return problems


def kubernetes_name_problems(name: str, *, namespace: str = "default", routing: bool = False) -> list[str]:
    """What is wrong with a user-supplied Kubernetes endpoint name, in words; empty when valid."""
    budget = kubernetes_name_budget(namespace, routing)
    problems = validate_remote_name(name, max_length=budget, lowercase=True)
    if routing and len(name) > budget and budget < _K8S_PREFETCH_BUDGET:
        problems.append(f"With intelligent routing in namespace '{namespace}' the limit is {budget} characters.")
    return problems


def is_valid_sagemaker_name(name: str) -> bool:
    return bool(SAGEMAKER_NAME_PATTERN.fullmatch(name)) and len(name) <= SAGEMAKER_NAME_MAX
