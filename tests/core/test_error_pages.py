"""403, 404 and 500 pages are the site's own: its layout and a way back, not Django's bare pages."""

import pytest
from django.test import RequestFactory
from django.views import defaults

pytestmark = pytest.mark.django_db

LAYOUT = 'class="topbar"'


def test_404_in_the_layout(client, user):
    client.force_login(user)
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404 and LAYOUT in page and "Page not found" in page
    assert "/no-such-page/" in page and 'href="/"' in page


def test_404_for_an_object_not_shared_with_you(client, user, other_user):
    from tests.jobs.factories import make_job

    job = make_job(other_user)
    client.force_login(user)
    response = client.get(f"/jobs/{job.pk}/")
    assert response.status_code == 404 and "not shared with you" in response.content.decode()


def test_403_in_the_layout_with_the_reason(client, user):
    client.force_login(user)
    response = client.get("/users/")
    page = response.content.decode()
    assert response.status_code == 403 and LAYOUT in page and "Only admins manage accounts." in page


def test_500_in_the_layout_without_a_request_context():
    response = defaults.server_error(RequestFactory().get("/boom"))
    page = response.content.decode()
    assert response.status_code == 500 and LAYOUT in page and "Something went wrong" in page


def test_api_errors_stay_json(user_api):
    response = user_api.get("/api/v1/jobs/999999/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
