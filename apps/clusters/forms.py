import re

from django import forms

from .models import Cluster

_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:cluster/[a-z0-9]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class ClusterForm(forms.ModelForm):
    class Meta:
        model = Cluster
        fields = ["name", "region", "eks_cluster_name", "hyperpod_cluster_arn", "namespace", "tiered_storage_enabled"]
        help_texts = {
            "name": "How ModelHub refers to the cluster.",
            "namespace": "Kubernetes namespace for ModelHub's endpoints.",
        }

    def clean_region(self):
        region = self.cleaned_data["region"].strip()
        if not _REGION.match(region):
            raise forms.ValidationError("Enter an AWS region such as us-east-1.")
        return region

    def clean_hyperpod_cluster_arn(self):
        arn = self.cleaned_data["hyperpod_cluster_arn"].strip()
        if arn and not _ARN.match(arn):
            raise forms.ValidationError("Enter a HyperPod cluster ARN: arn:aws:sagemaker:<region>:<account>:cluster/<id>.")
        return arn
