"""Sharing jobs, endpoints and datasets with groups or everyone: who sees, who uses, who changes."""

import pytest
from django.contrib.auth.models import Group

from apps.catalog.models import Dataset
from apps.chat import access
from apps.chat.errors import GatewayError
from apps.endpoints.models import Endpoint
from apps.jobs.models import TrainingJob
from apps.users.models import ApiToken
from apps.users.ownership import visible_to
from apps.users.shares import Share, share
from tests.chat.conftest import make_endpoint
from tests.conftest import make_user
from tests.jobs.factories import make_dataset, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    return Group.objects.create(name="team-a")


@pytest.fixture
def owner(team):
    user = make_user("olga")
    user.groups.add(team)
    return user


@pytest.fixture
def member(team):
    user = make_user("mia")
    user.groups.add(team)
    return user


@pytest.fixture
def outsider(db):
    return make_user("otto")


@pytest.fixture(autouse=True)
def _forget_admissions():
    access._admitted.clear()


def bearer(user) -> str:
    return f"Bearer {ApiToken.issue(user, 't')[1]}"


def test_a_group_share_shows_the_object_to_members_only(owner, member, outsider, team):
    endpoint = make_endpoint(owner, "team-chat", "local")
    job = make_job(owner, name="team-job")
    dataset = make_dataset(owner, "alpaca")
    for obj in (endpoint, job, dataset):
        assert not visible_to(type(obj).objects.all(), member).filter(pk=obj.pk).exists()
        share(obj, team, by=owner)
        assert visible_to(type(obj).objects.all(), member).filter(pk=obj.pk).exists()
        assert not visible_to(type(obj).objects.all(), outsider).filter(pk=obj.pk).exists()
    assert Dataset.objects.visible_to_user(member).filter(pk=dataset.pk).exists()
    assert not Dataset.objects.visible_to_user(outsider).filter(pk=dataset.pk).exists()


def test_sharing_with_everyone_is_for_admins(owner, outsider, admin_user):
    endpoint = make_endpoint(owner, "for-all", "local")
    from apps.users.shares import ShareError

    with pytest.raises(ShareError):
        share(endpoint, None, by=owner)
    share(endpoint, None, by=admin_user)
    assert share(endpoint, None, by=admin_user) == Share.objects.get()  # twice: one share
    assert visible_to(Endpoint.objects.all(), outsider).filter(pk=endpoint.pk).exists()


def test_owners_share_only_with_their_own_groups(owner, outsider):
    from apps.users.shares import ShareError

    other_team = Group.objects.create(name="team-b")
    with pytest.raises(ShareError, match="team-b"):
        share(make_job(owner), other_team, by=owner)


def test_members_chat_with_a_shared_endpoint_through_v1_and_others_get_404(owner, member, outsider, team):
    endpoint = make_endpoint(owner, "shared-ep", "local")
    make_endpoint(owner, "private-ep", "local")
    share(endpoint, team, by=owner)
    assert access.admit(bearer(member), "shared-ep")[1].endpoint == endpoint
    assert [m["id"] for m in access.models_for(bearer(member))] == ["shared-ep"]
    for user, name in ((member, "private-ep"), (outsider, "shared-ep")):
        with pytest.raises(GatewayError) as info:
            access.admit(bearer(user), name)
        assert info.value.status == 404


def test_shared_endpoint_is_offered_in_the_playground(client, owner, member, team):
    share(make_endpoint(owner, "shared-ep", "local"), team, by=owner)
    make_endpoint(owner, "private-ep", "local")
    client.force_login(member)
    page = client.get("/playground/").content.decode()
    assert "shared-ep" in page and "private-ep" not in page


def test_viewers_cannot_change_or_delete_pages(client, owner, member, team):
    endpoint = make_endpoint(owner, "shared-ep", "local")
    job = make_job(owner, name="shared-job")
    share(endpoint, team, by=owner)
    share(job, team, by=owner)
    client.force_login(member)
    page = client.get(f"/endpoints/{endpoint.pk}/").content.decode()
    assert "Shared with you by olga" in page and f"/endpoints/{endpoint.pk}/delete" not in page
    assert client.post(f"/endpoints/{endpoint.pk}/delete", {"confirm_name": "shared-ep"}).status_code == 404
    assert client.post(f"/endpoints/{endpoint.pk}/scale", {"instance_count": 2}).status_code == 404
    job_page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f"/jobs/{job.pk}/delete" not in job_page
    assert client.post(f"/jobs/{job.pk}/delete").status_code == 404
    assert client.post(f"/jobs/{job.pk}/stop").status_code == 404
    job.refresh_from_db()
    assert job.deleted_at is None
    assert Endpoint.objects.get(pk=endpoint.pk).status == "in_service"


def test_viewers_read_but_do_not_change_through_the_api(owner, member, team):
    from tests.conftest import _client_for

    job = make_job(owner, name="shared-job")
    share(job, team, by=owner)
    api = _client_for(member)
    assert api.get(f"/api/v1/jobs/{job.pk}/").status_code == 200
    assert api.delete(f"/api/v1/jobs/{job.pk}/").status_code == 403
    assert api.post(f"/api/v1/jobs/{job.pk}/stop/").status_code == 403
    assert TrainingJob.objects.alive().filter(pk=job.pk).exists()


def test_share_form_on_the_page_adds_and_removes(client, owner, member, team):
    endpoint = make_endpoint(owner, "ep", "local")
    client.force_login(owner)
    page = client.get(f"/endpoints/{endpoint.pk}/").content.decode()
    assert 'value="team-a"' in page and ">Everyone<" not in page  # only admins share with everyone
    response = client.post("/shares/", {"kind": "endpoint", "object_id": endpoint.pk, "group": "team-a"})
    assert response.status_code == 302 and response["Location"] == f"/endpoints/{endpoint.pk}/"
    created = Share.objects.get()
    assert created.group == team and created.created_by == owner
    client.force_login(member)  # a viewer can neither add nor remove
    assert client.post(f"/shares/{created.pk}/remove").status_code == 404
    assert client.post("/shares/", {"kind": "endpoint", "object_id": endpoint.pk, "group": "team-a"}).status_code == 404
    client.force_login(owner)
    client.post(f"/shares/{created.pk}/remove")
    assert not Share.objects.exists()


def test_share_api(owner, member, outsider, team, admin_user):
    from tests.conftest import _client_for

    endpoint = make_endpoint(owner, "ep", "local")
    api = _client_for(owner)
    response = api.post("/api/v1/shares/", {"kind": "endpoint", "object_id": endpoint.pk, "group": "team-a"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["group"] == "team-a" and response.json()["kind"] == "endpoint"
    refused = api.post("/api/v1/shares/", {"kind": "endpoint", "object_id": endpoint.pk, "group": None}, format="json")
    assert refused.status_code == 400 and "Only admins" in refused.json()["errors"]["group"][0]
    assert _client_for(member).post("/api/v1/shares/", {"kind": "endpoint", "object_id": endpoint.pk, "group": "team-a"},
                                    format="json").status_code == 403
    assert _client_for(outsider).post("/api/v1/shares/", {"kind": "endpoint", "object_id": endpoint.pk,
                                                          "group": None}, format="json").status_code == 400
    assert [s["object_id"] for s in api.get("/api/v1/shares/?kind=endpoint").json()["results"]] == [endpoint.pk]
    assert _client_for(member).get("/api/v1/shares/").json()["results"] == []
    share_id = response.json()["id"]
    assert _client_for(member).delete(f"/api/v1/shares/{share_id}/").status_code == 404
    assert _client_for(admin_user).delete(f"/api/v1/shares/{share_id}/").status_code == 204


def test_deleting_an_object_removes_its_shares(owner, team):
    dataset = make_dataset(owner, "alpaca")
    share(dataset, team, by=owner)
    Dataset.objects.filter(pk=dataset.pk).first().delete()
    assert not Share.objects.exists()


def test_datasets_are_shared_with_everyone_by_their_flag_only(client, owner, admin_user, team):
    from apps.users.shares import ShareError

    dataset = make_dataset(owner, "alpaca")
    with pytest.raises(ShareError, match="shared” flag"):
        share(dataset, None, by=admin_user)
    client.force_login(admin_user)
    page = client.get(f"/catalog/datasets/{dataset.pk}/").content.decode()
    assert "Share with all users" in page and ">Everyone<" not in page and 'value="team-a"' in page


def test_lists_name_who_shared_what(client, owner, member, team):
    share(make_endpoint(owner, "team-bot", "local"), team, by=owner)
    share(make_job(owner, name="team-run"), team, by=owner)
    make_job(member, name="own-run")
    client.force_login(member)
    endpoints = client.get("/endpoints/").content.decode()
    assert "team-bot" in endpoints and "shared by olga" in endpoints
    jobs = client.get("/jobs/").content.decode()
    assert "team-run" in jobs and jobs.count("shared by olga") == 1  # own-run is not marked
