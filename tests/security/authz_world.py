"""One set of users and objects for the authorization matrix, made once per test module.

User A owns one object of every kind, each named with MARKER so that any of A's data in a response to
someone else is found by a plain substring check. A shares the job, the endpoint and the dataset with a
group that MEMBER belongs to; STRANGER (B) shares nothing with A. A's revoked and expired tokens are
principals of their own.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from apps.catalog.models import BaseModel
from apps.chat.models import Conversation
from apps.clusters.models import Cluster
from apps.users import shares
from apps.users.models import ApiToken, UserSecret
from tests.conftest import make_user
from tests.endpoints.factories import make_endpoint
from tests.jobs.factories import make_dataset, make_job

MARKER = "zq7mark"
SECRET_VALUE = "s3cr3t-value-1234"  # A's stored secret: no response to anyone carries it


def mark(kind: str) -> str:
    """The string every one of A's objects of `kind` carries in its name."""
    return f"{MARKER}-{kind}"

PRINCIPALS = ("anonymous", "owner", "stranger", "member", "admin", "revoked_token", "expired_token")
SIGNED_OUT = {"anonymous", "revoked_token", "expired_token"}


@dataclass
class World:
    users: dict = field(default_factory=dict)  # principal -> User (signed-in principals)
    tokens: dict = field(default_factory=dict)  # principal -> raw bearer token (none for anonymous)
    ids: dict = field(default_factory=dict)  # object kind -> A's object's primary key (or key)
    objects: dict = field(default_factory=dict)
    model_key: str = ""  # a catalog model (the catalog is public to signed-in users)

    def hidden_from(self, principal: str) -> list[str]:
        """A's marks that `principal` must never read: all of them for a stranger, the unshared ones for the group."""
        if principal in ("owner", "admin"):
            return [SECRET_VALUE]
        seen = {"job", "endpoint", "dataset", "user"} if principal == "member" else set()
        return [SECRET_VALUE, *(mark(kind) for kind in self.objects if kind not in seen)]


def build() -> World:
    world = World()
    owner, stranger, member = make_user(mark("user")), make_user("stranger"), make_user("member")
    admin = make_user("root", group="admin")
    team = Group.objects.create(name="team")
    owner.groups.add(team)
    member.groups.add(team)
    world.users = {"owner": owner, "stranger": stranger, "member": member, "admin": admin}
    world.tokens = {name: ApiToken.issue(user, "t")[1] for name, user in world.users.items()}
    revoked, world.tokens["revoked_token"] = ApiToken.issue(owner, mark("token"))
    revoked.revoke()
    expired, world.tokens["expired_token"] = ApiToken.issue(owner, mark("token") + "-expired")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    job = make_job(owner, name=mark("job"), status="queued")
    endpoint = make_endpoint(owner, name=mark("endpoint"), status="in_service",
                             model_uri=f"s3://models-bucket/{mark('endpoint')}/merged/",
                             served_model_name=mark("endpoint") + "-model")
    dataset = make_dataset(owner, "alpaca", name=mark("dataset"))
    # Clusters are registered by admins and listed to every user (they deploy to them): not A's data.
    cluster = Cluster.objects.create(owner=admin, name="shared-cluster", region="us-east-1", access="eks",
                                     eks_cluster_name="shared-eks", namespace="modelhub")
    conversation = Conversation.objects.create(owner=owner, endpoint_name=endpoint.name, title=mark("conversation") + " talk")
    secret = UserSecret.objects.create(owner=owner, name=mark("secret"), kind="wandb", value=SECRET_VALUE)
    share = shares.share(job, team, by=owner)
    shares.share(endpoint, team, by=owner)
    shares.share(dataset, team, by=owner)
    world.objects = {"job": job, "endpoint": endpoint, "dataset": dataset, "conversation": conversation,
                     "secret": secret, "token": revoked, "user": owner}
    world.ids = {kind: obj.pk for kind, obj in world.objects.items()} | {"share": share.pk, "cluster": cluster.pk}
    world.model_key = BaseModel.objects.order_by("key").values_list("key", flat=True).first()
    return world
