"""English and Simplified Chinese: the switcher in the user menu remembers the choice on the user, and the
dashboard and the job page come out in Chinese with nothing left untranslated from their catalogue."""

import gettext
import html
import re
from pathlib import Path

import pytest
from django.conf import settings

from apps.users.models import User
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def po_entries() -> list[dict]:
    """(msgid, msgid_plural, msgstr list, fuzzy) of every entry but the header."""
    entries = []
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            entries.append({"msgid": fields["msgid"].replace('\\"', '"'), "plural": fields.get("msgid_plural"),
                            "msgstr": [v for k, v in fields.items() if k.startswith("msgstr")],
                            "fuzzy": "#, fuzzy" in block})
    return entries


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def english_left(page: str) -> list[str]:
    """Catalogue phrases (no placeholders, not the same in both languages) still shown in English, outside what
    the compute targets say of themselves (their missing settings come from the backends, in English)."""
    from tests.core.test_i18n_walk import backend_words

    text = visible_text(page)
    for said in backend_words():
        text = text.replace(html.unescape(said), " ")
    return [e["msgid"] for e in po_entries()
            if "%(" not in e["msgid"] and e["msgstr"][0] != e["msgid"] and len(e["msgid"]) > 4
            and re.search(rf"(?<![\w-]){re.escape(html.unescape(e['msgid']))}(?![\w-])", text)]


@pytest.fixture
def chinese(client, user):
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    client.force_login(user)
    return client


def test_every_catalogue_entry_is_translated_and_compiled():
    entries = po_entries()
    assert len(entries) > 100
    assert [e["msgid"] for e in entries if e["fuzzy"] or not all(e["msgstr"])] == []
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in entries:
        if entry["plural"]:
            assert compiled.ngettext(entry["msgid"], entry["plural"], 1) == entry["msgstr"][0]
        else:
            assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0].replace('\\"', '"'), entry["msgid"]


def test_the_switcher_remembers_the_language_on_the_user(client, user):
    client.force_login(user)
    assert 'lang="en"' in client.get("/").content.decode()
    response = client.post("/language", {"language": "zh-hans", "next": "/jobs/"})
    assert response.status_code == 302 and response["Location"] == "/jobs/"
    user.refresh_from_db()
    assert user.language == "zh-hans"
    client.cookies.clear()  # a new browser: the choice comes from the account, not the cookie
    client.force_login(user)
    page = client.get("/").content.decode()
    assert 'lang="zh-hans"' in page and "退出登录" in page
    assert client.post("/language", {"language": "xx", "next": "https://evil.example/"})["Location"] == "/"
    user.refresh_from_db()
    assert user.language == "zh-hans"


def test_the_browser_language_applies_until_a_choice_is_made(client, user):
    client.force_login(user)
    assert "仪表盘" in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    User.objects.filter(pk=user.pk).update(language="en")
    assert "仪表盘" not in client.get("/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()


def test_dashboard_in_chinese(chinese, user):
    make_job(user, name="my-run", status="running", step=5, total_steps=10)
    make_job(user, name="broken-run", status="failed", status_reason="boom")
    page = chinese.get("/").content.decode()
    assert "仪表盘" in page and "训练任务" in page and "计算目标" in page and "运行中" in page
    assert english_left(page) == []


def test_job_page_in_chinese(chinese, user):
    job = make_job(user, name="my-run", status="running", step=5, total_steps=10)
    page = chinese.get(f"/jobs/{job.pk}/").content.decode()
    assert "损失与学习率" in page and "第 5 步，共 10 步" in page and "运行中" in page and "共享" in page
    assert english_left(page) == []
    live = chinese.get(f"/jobs/{job.pk}/live").content.decode()
    assert "时间线" in live and english_left(live) == []


def test_numbers_and_dates_follow_the_language(chinese, user):
    from django.contrib.humanize.templatetags.humanize import intcomma
    from django.utils import dateformat, translation
    from django.utils.timezone import localtime

    job = make_job(user, name="my-run", status="succeeded", billable_seconds=12345)
    page = chinese.get(f"/jobs/{job.pk}/").content.decode()
    with translation.override("zh-hans"):
        created = dateformat.format(localtime(job.created_at), "M j, Y H:i")
        seconds = intcomma(12345)
    assert not re.search("[A-Za-z]", created)  # the month from Django's own Chinese catalogue
    assert f'title="{created}"' in page and f"已计费 {seconds} 秒" in page


def test_error_pages_in_chinese(chinese):
    page = chinese.get("/no-such-page/").content.decode()
    assert "页面不存在" in page and english_left(page) == []
