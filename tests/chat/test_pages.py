from apps.endpoints.models import Endpoint

from .conftest import make_endpoint


def test_playground_needs_login(client):
    response = client.get("/playground/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_playground_offers_the_users_endpoints_only(client, user, other_user):
    make_endpoint(user, "mine-ready", "local")
    make_endpoint(user, "mine-creating", "local", status="creating")
    make_endpoint(other_user, "not-mine", "local")
    client.force_login(user)
    page = client.get("/playground/").content.decode()
    assert 'value="mine-ready"' in page and "not-mine" not in page
    assert 'value="mine-creating"' not in page and "mine-creating</a> (creating)" in page  # named, not offered
    assert "js/playground.js" in page


def test_admin_sees_every_endpoint(client, admin_user, other_user):
    make_endpoint(other_user, "bobs", "local")
    client.force_login(admin_user)
    assert 'value="bobs"' in client.get("/playground/").content.decode()


def test_empty_state_without_endpoints(client, user):
    Endpoint.objects.all().delete()
    client.force_login(user)
    page = client.get("/playground/").content.decode()
    assert "No endpoints yet" in page and "js/playground.js" not in page
