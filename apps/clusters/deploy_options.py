"""HyperPod deploy options (cluster, namespace, routing, KV cache, public load balancer, L2 storage),
checked before anything is created.

`problems(...)` builds the Deployment the endpoint would get and asks the cluster backend
(`ClusterBackend.deploy_problems`), so the form, the API and the backend apply the very same operator
rules (name budgets, routing-only load balancers, vLLM-only KV cache, tiered storage, free GPUs), plus
what only the registry knows (the cluster is active, has the operator and the namespace).
`HyperPodOptionsSerializer` is the DRF face of it for the deploy form and API (`target_options`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.backends.base import API_KEY_SECRET, Autoscaling, ClusterFacts, Deployment, ModelSource

from .connection import backend
from .connection import facts as cluster_facts
from .models import Cluster

# Manifest problem keys that are deploy-spec fields keep their names; the rest are options.
_OPTION_FIELDS = {"namespace", "routing_strategy", "public_load_balancer", "kv_cache", "kv_cache_l2",
                  "kv_cache_l2_url"}
_PLACEHOLDER_NAME = "mh-check-0"  # a derived name is always within budget (apps.endpoints.names)
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def option_choices() -> dict[str, tuple[str, ...]]:
    """Allowed values of the options that have a fixed set (routing strategy, L2 KV cache backend)."""
    return dict(backend().option_choices)


def cluster_problems(status: str, operator_installed: bool | None, namespaces: list[str], namespace: str) -> list[str]:
    problems = []
    if status != Cluster.Status.ACTIVE:
        problems.append(f"The cluster is {status}; deploy once ModelHub has reached it (see its page).")
    if operator_installed is False:
        problems.append("The HyperPod inference operator is not installed on this cluster.")
    if namespaces and namespace not in namespaces:
        problems.append(f"The cluster has no namespace '{namespace}'; create it or choose one of {', '.join(namespaces)}.")
    return problems


def problems(options: Mapping, *, facts: ClusterFacts, engine: str, engine_version: str, instance_type: str,
             instance_count: int, model_uri: str, served_model_name: str = "model", name: str = "",
             tensor_parallel_size: int | None = None, autoscaling: Mapping | None = None,
             api_key: bool = False) -> dict[str, list[str]]:
    """Field errors for deploying with these HyperPod options; empty when the operator will accept it."""
    candidate = Deployment(
        endpoint_id=0, remote_name=name or _PLACEHOLDER_NAME, owner="", display_name=name,
        engine=engine, engine_version=engine_version, served_model_name=served_model_name,
        model=ModelSource(uri=model_uri), instance_type=instance_type, instance_count=instance_count,
        environment={}, argv=(),
        autoscaling=Autoscaling(
            min_instances=autoscaling["min_instances"], max_instances=autoscaling["max_instances"],
            target_invocations_per_instance=autoscaling.get("target_invocations_per_instance", 100),
        ) if autoscaling else None,
        options={**options, "gpus_per_replica": tensor_parallel_size or None},
        secrets={API_KEY_SECRET: "check"} if api_key else {},
    )
    errors: dict[str, list[str]] = {}
    for key, messages in backend().deploy_problems(candidate, facts).items():
        field = "cluster_id" if key == "cluster" else key
        errors.setdefault(field, []).extend(messages)
    return errors


def _choices(values, blank: str | None = None) -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + [(v, v) for v in values]


def _cluster_choices() -> list[tuple[str, str]]:  # a callable: read when a form is shown, not at import
    return _choices((), _("choose a cluster")) + [(str(c.pk), f"{c.name} ({c.region}, {c.status})")
                                               for c in Cluster.objects.all()]


class HyperPodOptionsSerializer(serializers.Serializer):
    """`target_options` of a HyperPod deployment. Context: the resolved deploy spec's fields
    (`engine`, `engine_version`, `instance_type`, `instance_count`, `tensor_parallel_size`,
    `autoscaling`, `name`) and `model_uri`."""

    cluster_id = serializers.PrimaryKeyRelatedField(queryset=Cluster.objects.all(), source="cluster")
    namespace = serializers.CharField(max_length=63, required=False, allow_blank=True, default="")
    routing = serializers.BooleanField(default=False)
    routing_strategy = serializers.ChoiceField(choices=(), default="prefixaware")
    kv_cache = serializers.BooleanField(default=False)
    kv_cache_l2 = serializers.ChoiceField(choices=(), default="", allow_blank=True)
    kv_cache_l2_url = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")
    public_load_balancer = serializers.BooleanField(default=False)

    # How the deploy form shows these options: its section's help, and the switches (posted as "on").
    FORM_HELP = _("Only for the HyperPod target: the cluster and its serving features.")
    FORM_SWITCHES = ("routing", "kv_cache", "public_load_balancer")

    @staticmethod
    def form_fields() -> dict[str, forms.Field]:
        """The deploy form's fields, by option, in the order the form shows them."""
        choices = option_choices()
        return {
            "cluster_id": forms.ChoiceField(label=_("Cluster"), required=False, choices=_cluster_choices),
            "namespace": forms.CharField(label=_("Namespace"), required=False,
                                         help_text=_("Empty: the cluster's default.")),
            "routing": forms.BooleanField(label=_("Intelligent routing"), required=False,
                                          help_text=_("Cannot be turned on or off after deployment.")),
            "routing_strategy": forms.ChoiceField(label=_("Routing strategy"), required=False,
                                                  choices=_choices(choices["routing_strategy"])),
            "kv_cache": forms.BooleanField(label=_("KV cache offload to CPU memory (vLLM)"), required=False),
            "kv_cache_l2": forms.ChoiceField(label=_("L2 KV cache"), required=False,
                                             choices=_choices(choices["kv_cache_l2"], "none")),
            "kv_cache_l2_url": forms.CharField(label=_("L2 cache URL (Redis)"), required=False),
            "public_load_balancer": forms.BooleanField(label=_("Public load balancer"), required=False,
                                                       help_text=_("Internet-facing; needs intelligent routing.")),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = option_choices()
        self.fields["routing_strategy"].choices = choices["routing_strategy"]
        self.fields["kv_cache_l2"].choices = ("", *choices["kv_cache_l2"])

    def validate_namespace(self, value):
        if value and not _DNS_LABEL.match(value):
            raise serializers.ValidationError("Use lowercase letters, digits and '-', starting and ending with a "
                                              "letter or digit.")
        return value

    def validate(self, attrs):
        cluster: Cluster = attrs.pop("cluster")
        attrs["namespace"] = attrs.get("namespace") or cluster.namespace
        spec = self.context.get("spec", {})
        errors: dict[str, list[str]] = {}
        general = cluster_problems(cluster.status, cluster.operator_installed, cluster.namespaces, attrs["namespace"])
        if general:
            errors["cluster_id"] = general
        found = problems(
            attrs, facts=cluster_facts(cluster), engine=spec.get("engine", "vllm"),
            engine_version=spec.get("engine_version", ""), instance_type=spec.get("instance_type", ""),
            instance_count=spec.get("instance_count", 1), model_uri=self.context.get("model_uri", ""),
            name=spec.get("name", ""), tensor_parallel_size=spec.get("tensor_parallel_size"),
            autoscaling=spec.get("autoscaling"),
        )
        for field, messages in found.items():
            errors.setdefault(field if field in _OPTION_FIELDS | {"cluster_id"} else f"spec.{field}", []).extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return {"cluster_id": cluster.pk, **attrs}
