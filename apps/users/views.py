from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm, UserSecretForm
from .models import ApiToken, UserSecret
from .ownership import get_visible_or_404


def _profile(request, *, form=None, secret_form=None, new_token=None, status=200):
    context = {
        "form": form or ApiTokenForm(),
        "secret_form": secret_form or UserSecretForm(owner=request.user, auto_id="id_secret_%s"),
        "tokens": request.user.api_tokens.all(),
        "secrets": request.user.secrets.all(),
        "new_token": new_token,
    }
    return render(request, "users/profile.html", context, status=status)


@never_cache  # it shows a new token once: no browser or proxy may keep a copy
@login_required
def profile(request):
    """The user's profile: groups, API tokens (a new one is shown once) and stored secrets."""
    if request.method != "POST":
        return _profile(request)
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _profile(request, form=form, status=400)
    _, raw = ApiToken.issue(request.user, form.cleaned_data["name"], form.cleaned_data["expires_in_days"])
    return _profile(request, new_token=raw)


@never_cache
@login_required
@require_POST
def add_secret(request):
    form = UserSecretForm(request.POST, owner=request.user, auto_id="id_secret_%s")
    if not form.is_valid():
        return _profile(request, secret_form=form, status=400)
    secret = form.save()
    messages.success(request, _("Secret “%(name)s” saved. Jobs can now refer to it by name.") % {"name": secret.name})
    return redirect("profile")


@login_required
@require_POST
def delete_secret(request, pk: int):
    """The owner's alone, as in the API: admins act on other users' secrets nowhere."""
    secret = get_object_or_404(UserSecret.objects.filter(owner=request.user), pk=pk)
    secret.delete()
    messages.success(request, _("Secret “%(name)s” deleted.") % {"name": secret.name})
    return redirect("profile")


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_visible_or_404(ApiToken.objects.all(), request.user, pk=pk)
    token.revoke()
    messages.success(request, _("Token “%(name)s” revoked. Clients using it now get 401.") % {"name": token.name})
    return redirect("profile")
