from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .ownership import get_visible_or_404


@login_required
def profile(request):
    """The user's profile: their groups and API tokens, and a form for a new token."""
    form = ApiTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = ApiToken.issue(
            request.user, form.cleaned_data["name"], form.cleaned_data["expires_in_days"]
        )
        form = ApiTokenForm()
    tokens = request.user.api_tokens.all()
    return render(
        request,
        "users/profile.html",
        {"form": form, "tokens": tokens, "new_token": new_token},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def revoke_token(request, pk: int):
    token = get_visible_or_404(ApiToken.objects.all(), request.user, pk=pk)
    token.revoke()
    messages.success(request, f"Token “{token.name}” revoked. Clients using it now get 401.")
    return redirect("profile")
