from django import forms
from django.utils.translation import gettext_lazy as _

from . import validation
from .models import Cluster


class ClusterForm(forms.ModelForm):
    kubeconfig_file = forms.FileField(
        label=_("Kubeconfig"), required=False,
        help_text=_("Only with “Uploaded kubeconfig”. Stored encrypted and never shown again."),
    )

    class Meta:
        model = Cluster
        fields = ["name", "access", "region", "eks_cluster_name", "hyperpod_cluster_arn", "role_arn", "namespace",
                  "tls_certificate_s3_uri", "tiered_storage_enabled"]
        labels = {
            "name": _("Name"), "access": _("Access"), "region": _("Region"), "eks_cluster_name": _("EKS cluster name"),
            "hyperpod_cluster_arn": _("HyperPod cluster ARN"), "role_arn": _("IAM role ARN"),
            "namespace": _("Namespace"), "tls_certificate_s3_uri": _("TLS certificate location"),
            "tiered_storage_enabled": _("Tiered storage enabled"),
        }
        help_texts = {
            "name": _("How ModelHub refers to the cluster."),
            "namespace": _("Default Kubernetes namespace for ModelHub's endpoints."),
            "hyperpod_cluster_arn": _("Lets ModelHub read instance groups and tiered storage from SageMaker."),
            "tiered_storage_enabled": _("The cluster has HyperPod tiered storage (needed for the L2 KV cache)."),
            "role_arn": _("Role ModelHub assumes to reach this cluster; empty uses its own AWS credentials."),
            "tls_certificate_s3_uri": _("s3://bucket/prefix where the inference operator writes endpoint certificates; "
                                        "empty uses HYPERPOD_TLS_CERTIFICATE_S3_URI."),
        }

    def _check(self, field: str, problem: str):
        if problem:
            raise forms.ValidationError(problem)
        return self.cleaned_data[field]

    def clean_region(self):
        self.cleaned_data["region"] = self.cleaned_data["region"].strip()
        return self._check("region", validation.region_problem(self.cleaned_data["region"]))

    def clean_hyperpod_cluster_arn(self):
        self.cleaned_data["hyperpod_cluster_arn"] = self.cleaned_data["hyperpod_cluster_arn"].strip()
        return self._check("hyperpod_cluster_arn", validation.hyperpod_arn_problem(self.cleaned_data["hyperpod_cluster_arn"]))

    def clean_role_arn(self):
        self.cleaned_data["role_arn"] = self.cleaned_data["role_arn"].strip()
        return self._check("role_arn", validation.role_arn_problem(self.cleaned_data["role_arn"]))

    def clean_tls_certificate_s3_uri(self):
        return self._check("tls_certificate_s3_uri", validation.tls_uri_problem(self.cleaned_data["tls_certificate_s3_uri"]))

    def clean(self):
        data = super().clean()
        upload = data.get("kubeconfig_file")
        if data.get("access") == Cluster.Access.KUBECONFIG:
            if not upload:
                self.add_error("kubeconfig_file", _("Upload the cluster's kubeconfig."))
            else:
                text = upload.read().decode("utf-8", errors="replace")
                problem = validation.kubeconfig_problem(text)
                if problem:
                    self.add_error("kubeconfig_file", problem)
                else:
                    self.instance.kubeconfig = text
        elif data.get("access") == Cluster.Access.EKS:
            problem = validation.eks_name_problem(data.get("eks_cluster_name", ""))
            if problem:
                self.add_error("eks_cluster_name", problem)
        return data
