from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import readiness
from .health import run_checks


@require_GET
@never_cache
def healthz(request):
    """Database, broker and workers; 200 only when all are up. `targets` says which compute targets are usable
    and what each lacks; a target that is not configured is not a failure of this installation."""
    checks = run_checks()
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", "checks": checks,
                         "targets": readiness.as_json(readiness.targets())}, status=200 if healthy else 503)


@login_required
def dashboard(request):
    from .dashboard import sections

    return render(request, "core/dashboard.html", {"sections": sections(request.user)})
