"""The language of the pages: chosen in the user menu and remembered on the user.

LocaleMiddleware picks the browser's language (or the language cookie) for everyone; for a
signed-in user who chose one, `UserLanguageMiddleware` then activates that choice instead.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

CHOICES = dict(settings.LANGUAGES)


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if chosen in CHOICES:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


@login_required
@require_POST
def set_language(request):
    """Remember the chosen language on the user (and in the cookie, for the login page); back to the page."""
    chosen = request.POST.get("language", "")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = "/"
    response = HttpResponseRedirect(back)
    if chosen in CHOICES:
        request.user.language = chosen
        request.user.save(update_fields=["language"])
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, max_age=365 * 24 * 3600, samesite="Lax")
    return response
