import pytest
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from modelhub.urls import urlpatterns as project_urls


class SpecSerializer(serializers.Serializer):
    count = serializers.IntegerField(min_value=1)
    name = serializers.CharField()
    nested = serializers.DictField(required=False)

    def validate(self, attrs):
        if attrs.get("name") == "clash":
            raise serializers.ValidationError("Name and count disagree.")
        return attrs


@api_view(["POST"])
@permission_classes([AllowAny])
def validate_spec(request):
    SpecSerializer(data=request.data).is_valid(raise_exception=True)
    return Response({"ok": True})


@api_view(["GET"])
@permission_classes([AllowAny])
def explode(request):
    raise RuntimeError("boom with secret sk-123")


urlpatterns = [path("api/v1/test/spec", validate_spec), path("api/v1/test/explode", explode), *project_urls]


@pytest.fixture
def test_urls(settings):
    settings.ROOT_URLCONF = __name__


def test_validation_errors_have_field_messages(test_urls, client):
    response = client.post("/api/v1/test/spec", {"count": 0}, content_type="application/json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"] == "The request has invalid fields."
    assert body["errors"] == {
        "count": ["Ensure this value is greater than or equal to 1."],
        "name": ["This field is required."],
    }


def test_cross_field_errors_are_non_field_errors(test_urls, client):
    response = client.post("/api/v1/test/spec", {"count": 1, "name": "clash"}, content_type="application/json")
    assert response.json()["errors"] == {"non_field_errors": ["Name and count disagree."]}


def test_malformed_json_is_a_parse_error(test_urls, client):
    response = client.post("/api/v1/test/spec", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_crash_is_a_500_with_the_error_body_and_no_details(test_urls, client):
    client.raise_request_exception = False
    response = client.get("/api/v1/test/explode")
    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "message": "Something went wrong on our side."}


@pytest.mark.django_db
def test_unknown_api_url_is_a_json_404(client):
    response = client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "message": "No API resource at /api/v1/no/such/thing."}


@pytest.mark.django_db
def test_wrong_method_is_405_with_error_body(user_api):
    response = user_api.post("/api/v1/me")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_openapi_schema_and_docs_are_served(admin_client):
    schema = admin_client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/me" in schema.content and b"bearerAuth" in schema.content
    docs = admin_client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()
