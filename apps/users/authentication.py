from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import TOKEN_PREFIX, ApiToken, hash_token


def authenticate_token(raw: str) -> ApiToken:
    """The usable token for a raw value, or AuthenticationFailed saying why not."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        raise exceptions.AuthenticationFailed("Malformed API token.")
    token = ApiToken.objects.select_related("owner").filter(digest=hash_token(raw)).first()
    if token is None:
        raise exceptions.AuthenticationFailed("Invalid API token.")
    if token.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This API token has been revoked.")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed("This API token has expired.")
    if not token.owner.is_active:
        raise exceptions.AuthenticationFailed("This account is disabled.")
    token.touch()
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` with a ModelHub API token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: use 'Bearer <token>'.")
        token = authenticate_token(parts[1])
        return token.owner, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A ModelHub API token (mh_…)."}
