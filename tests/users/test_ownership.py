"""The ownership helpers, exercised on API tokens (an owned model) through a DRF view and directly."""

import pytest
from django.http import Http404
from django.urls import include, path
from rest_framework import serializers, viewsets
from rest_framework.routers import SimpleRouter
from rest_framework.test import APIClient

from apps.users.models import ApiToken
from apps.users.ownership import (
    IsOwnerOrAdmin,
    OwnedQuerysetMixin,
    can_change,
    get_visible_or_404,
    visible_to,
)

pytestmark = pytest.mark.django_db


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name"]


class TokenViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    queryset = ApiToken.objects.all()
    serializer_class = TokenSerializer
    permission_classes = [IsOwnerOrAdmin]


router = SimpleRouter()
router.register("owned-tokens", TokenViewSet)
urlpatterns = [path("api/", include(router.urls))]


@pytest.fixture
def tokens(user, other_user):
    mine, _ = ApiToken.issue(user, "mine")
    theirs, _ = ApiToken.issue(other_user, "theirs")
    return mine, theirs


def test_visible_to_filters_by_owner_for_default_users(user, admin_user, tokens):
    mine, theirs = tokens
    assert list(visible_to(ApiToken.objects.all(), user)) == [mine]
    assert set(visible_to(ApiToken.objects.all(), admin_user)) == {mine, theirs}


def test_anonymous_sees_nothing(tokens):
    from django.contrib.auth.models import AnonymousUser

    assert not visible_to(ApiToken.objects.all(), AnonymousUser()).exists()
    assert not can_change(AnonymousUser(), tokens[0])


def test_can_access(user, admin_user, tokens):
    mine, theirs = tokens
    assert can_change(user, mine) and not can_change(user, theirs)
    assert can_change(admin_user, theirs)


def test_get_visible_or_404_hides_other_users_objects(user, tokens):
    mine, theirs = tokens
    assert get_visible_or_404(ApiToken.objects.all(), user, pk=mine.pk) == mine
    with pytest.raises(Http404):
        get_visible_or_404(ApiToken.objects.all(), user, pk=theirs.pk)


@pytest.fixture
def owned_urls(settings):
    settings.ROOT_URLCONF = __name__


def client_for(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_default_user_cannot_read_or_change_another_users_object(owned_urls, user, tokens):
    mine, theirs = tokens
    client = client_for(user)
    assert [t["name"] for t in client.get("/api/owned-tokens/").json()["results"]] == ["mine"]
    assert client.get(f"/api/owned-tokens/{theirs.pk}/").status_code == 404
    assert client.patch(f"/api/owned-tokens/{theirs.pk}/", {"name": "hijacked"}).status_code == 404
    assert client.delete(f"/api/owned-tokens/{theirs.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "theirs"
    assert client.patch(f"/api/owned-tokens/{mine.pk}/", {"name": "renamed"}).status_code == 200


def test_admin_can_read_and_change_any_object(owned_urls, admin_user, tokens):
    _, theirs = tokens
    client = client_for(admin_user)
    assert {t["name"] for t in client.get("/api/owned-tokens/").json()["results"]} == {"mine", "theirs"}
    assert client.patch(f"/api/owned-tokens/{theirs.pk}/", {"name": "moderated"}).status_code == 200
    theirs.refresh_from_db()
    assert theirs.name == "moderated"


def test_object_permission_applies_even_when_queryset_is_not_narrowed(user, tokens):
    from rest_framework.test import APIRequestFactory

    _, theirs = tokens
    request = APIRequestFactory().get("/")
    request.user = user
    assert IsOwnerOrAdmin().has_object_permission(request, None, theirs) is False


def test_a_user_without_shares_gets_a_plain_owner_filter_that_keeps_the_list_index():
    """`owner = me OR id IN (...)` makes the database read every row the user can see before paging
    (docs/benchmarks.md, job list): the OR is added only when something is shared with the user."""
    from django.contrib.auth.models import Group

    from apps.jobs.models import TrainingJob
    from apps.users.ownership import visible_to
    from apps.users.shares import share
    from tests.conftest import make_user
    from tests.jobs.factories import make_job

    alice, bob = make_user("alice"), make_user("bob")
    team = Group.objects.create(name="team")
    alice.groups.add(team)
    bob.groups.add(team)
    mine, theirs = make_job(bob, name="mine"), make_job(alice, name="theirs")
    plain = str(visible_to(TrainingJob.objects.all(), bob).query)
    assert " OR " not in plain and "SELECT" not in plain.split("WHERE", 1)[1]
    share(theirs, team, by=alice)
    with_share = visible_to(TrainingJob.objects.all(), bob)
    assert " OR " in str(with_share.query)
    assert set(with_share) == {mine, theirs}
