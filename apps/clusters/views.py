from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render

from apps.users.ownership import is_admin

from .forms import ClusterForm
from .models import Cluster


@login_required
def cluster_list(request):
    """Every user sees the registered clusters (they deploy to them); only admins register them."""
    form = ClusterForm(request.POST or None) if is_admin(request.user) else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            cluster = form.save(commit=False)
            cluster.owner = request.user
            cluster.save()
            cluster.record_event("Registered")
            messages.success(request, f"Cluster “{cluster.name}” registered.")
            return redirect("clusters:list")
    clusters = Cluster.objects.select_related("owner")
    return render(
        request, "clusters/list.html", {"clusters": clusters, "form": form}, status=400 if form and form.errors else 200
    )
