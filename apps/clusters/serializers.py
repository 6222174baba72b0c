from rest_framework import serializers

from . import validation
from .models import Cluster, ClusterEvent


class ClusterSerializer(serializers.ModelSerializer):
    """A registered cluster. `kubeconfig` is write-only: stored encrypted, never returned."""

    kubeconfig = serializers.CharField(write_only=True, required=False, allow_blank=True, trim_whitespace=False,
                                       style={"base_template": "textarea.html"})
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Cluster
        fields = [
            "id", "name", "owner", "status", "status_reason", "access", "region", "eks_cluster_name",
            "hyperpod_cluster_arn", "role_arn", "namespace", "tls_certificate_s3_uri", "tiered_storage_enabled",
            "kubeconfig", "kubernetes_version", "namespaces", "operator_installed", "hyperpod_status", "capacity",
            "last_checked_at", "created_at",
        ]
        read_only_fields = ["status", "status_reason", "kubernetes_version", "namespaces", "operator_installed",
                            "hyperpod_status", "capacity", "last_checked_at", "created_at"]

    def _problem(self, problem: str, value):
        if problem:
            raise serializers.ValidationError(problem)
        return value

    def validate_region(self, value):
        return self._problem(validation.region_problem(value), value)

    def validate_hyperpod_cluster_arn(self, value):
        return self._problem(validation.hyperpod_arn_problem(value), value)

    def validate_role_arn(self, value):
        return self._problem(validation.role_arn_problem(value), value)

    def validate_tls_certificate_s3_uri(self, value):
        return self._problem(validation.tls_uri_problem(value), value)

    def validate(self, attrs):
        access = attrs.get("access", getattr(self.instance, "access", Cluster.Access.EKS))
        errors = {}
        if access == Cluster.Access.KUBECONFIG:
            text = attrs.get("kubeconfig")
            if text is None and not (self.instance and self.instance.kubeconfig):
                errors["kubeconfig"] = ["Give the cluster's kubeconfig."]
            elif text is not None:
                problem = validation.kubeconfig_problem(text)
                if problem:
                    errors["kubeconfig"] = [problem]
        else:
            name = attrs.get("eks_cluster_name", getattr(self.instance, "eks_cluster_name", ""))
            problem = validation.eks_name_problem(name)
            if problem:
                errors["eks_cluster_name"] = [problem]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ClusterEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClusterEvent
        fields = ["created_at", "level", "kind", "message"]
