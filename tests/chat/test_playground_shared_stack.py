"""Through the running app (uvicorn) and the OpenAI client: a member of the group an endpoint is shared
with chats with it through /v1 and sees it in /v1/models; someone outside the group gets 404."""

import openai
import pytest
from django.contrib.auth.models import Group

from apps.users.models import ApiToken
from apps.users.shares import share
from tests.conftest import make_user

from .conftest import make_endpoint

pytestmark = [pytest.mark.stack, pytest.mark.django_db(transaction=True)]

MESSAGES = [{"role": "user", "content": "Say hello"}]


def client_for(web, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{web}/v1", api_key=ApiToken.issue(user, "t")[1], max_retries=0, timeout=30)


def test_a_member_chats_with_a_shared_endpoint_and_an_outsider_gets_404(web, local_fake):
    team = Group.objects.create(name="team-a")
    owner, member, outsider = make_user("olga"), make_user("mia"), make_user("otto")
    owner.groups.add(team)
    member.groups.add(team)
    share(make_endpoint(owner, "team-bot", "local", upstream=local_fake), team, by=owner)
    make_endpoint(owner, "private-bot", "local", upstream=local_fake)

    reply = client_for(web, member).chat.completions.create(model="team-bot", messages=MESSAGES)
    assert reply.choices[0].message.content == "".join(local_fake.tokens)
    assert [m.id for m in client_for(web, member).models.list()] == ["team-bot"]
    with pytest.raises(openai.NotFoundError):
        client_for(web, member).chat.completions.create(model="private-bot", messages=MESSAGES)
    with pytest.raises(openai.NotFoundError):
        client_for(web, outsider).chat.completions.create(model="team-bot", messages=MESSAGES)
