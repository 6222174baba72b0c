from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.users.ownership import is_admin

from . import services
from .forms import ClusterForm
from .models import Cluster

# AWS's own tooling for creating a HyperPod EKS cluster and installing the inference operator.
CREATE_CLUSTER_LINKS = (
    (gettext_lazy("Creating a SageMaker HyperPod cluster with Amazon EKS orchestration"),
     "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-hyperpod-eks-operate-console-ui-create-cluster.html"),
    (gettext_lazy("Setting up HyperPod clusters for model deployment (the inference operator)"),
     "https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-hyperpod-model-deployment-setup.html"),
    (gettext_lazy("SageMaker HyperPod CLI (hyp) and Helm charts"), "https://github.com/aws/sagemaker-hyperpod-cli"),
)


def _admin_only(request):
    if not is_admin(request.user):
        raise PermissionDenied


@login_required
def cluster_list(request):
    """Every user sees the registered clusters (they deploy to them); only admins register them."""
    clusters = Cluster.objects.select_related("owner")
    return render(request, "clusters/list.html", {"clusters": clusters, "can_register": is_admin(request.user)})


@login_required
def cluster_register(request):
    _admin_only(request)
    form = ClusterForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            cluster = form.save(commit=False)
            cluster.owner = request.user
            cluster.save()
            services.registered(cluster)
        messages.success(request, _("Cluster “%(name)s” registered; ModelHub is checking it now.") % {"name": cluster.name})
        return redirect("clusters:detail", cluster.pk)
    return render(request, "clusters/register.html", {"form": form, "links": CREATE_CLUSTER_LINKS},
                  status=400 if form.errors else 200)


@login_required
def cluster_detail(request, pk: int):
    cluster = get_object_or_404(Cluster.objects.select_related("owner"), pk=pk)
    return render(request, "clusters/detail.html", {
        "cluster": cluster,
        "endpoints": services.endpoints_on(cluster).order_by("name"),
        "events": cluster.events.order_by("-created_at", "-id")[:20],
        "can_manage": is_admin(request.user),
    })


@login_required
def cluster_delete(request, pk: int):
    _admin_only(request)
    cluster = get_object_or_404(Cluster, pk=pk)
    error = ""
    if request.method == "POST":
        if request.POST.get("confirm_name", "").strip() != cluster.name:
            error = "Type the cluster's name exactly to confirm."
        else:
            try:
                services.remove(cluster)
            except services.ClusterInUse as exc:
                error = str(exc)
            else:
                messages.success(request, _("Cluster “%(name)s” removed from ModelHub (the cluster itself is untouched).") % {"name": cluster.name})
                return redirect("clusters:list")
    return render(request, "clusters/delete.html", {"cluster": cluster, "error": error}, status=400 if error else 200)
