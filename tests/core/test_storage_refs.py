"""apps/core/storage_refs.py: references into ModelHub's storage only inside the user's own prefixes."""

import os

import pytest

from apps.core.storage_refs import check_reference, modelhub_prefixes

SPACE = "s3://modelhub-bucket/modelhub/"


class Person:
    is_authenticated = True

    def __init__(self, admin=False):
        self.is_admin = admin


ALICE, ADMIN = Person(), Person(admin=True)
ALICE_OWN = ["s3://modelhub-bucket/modelhub/jobs/mhjob-a-12/", "s3://modelhub-bucket/modelhub/datasets/ds-a-3/"]


def check(uri, user=ALICE, owned=ALICE_OWN, spaces=(SPACE,)):
    return check_reference(uri, user, owned, spaces=list(spaces))


@pytest.mark.parametrize("uri", [
    "s3://modelhub-bucket/modelhub/datasets/",          # the exact prefix (refused before, too)
    "s3://modelhub-bucket/modelhub/dataset",            # shorter prefixes: list every user's datasets
    "s3://modelhub-bucket/modelhub/d",
    "s3://modelhub-bucket/modelhub/",
    "s3://modelhub-bucket/modelhub",
    "s3://modelhub-bucket/model",
    "s3://modelhub-bucket/",
    "s3://MODELHUB-BUCKET/modelhub/datasets/ds-b-4/",  # bucket names are case-insensitive
    "s3://modelhub-bucket/modelhub/jobs/mhjob-b-13/output/model/",  # another user's job output
    "s3://modelhub-bucket/modelhub/jobs/mhjob-a-1",     # a prefix of mhjob-a-12/ and of mhjob-a-1x/
    "s3://modelhub-bucket/modelhub/jobs/mhjob-a-12",    # without the slash it also lists mhjob-a-123/
    "s3://modelhub-bucket/modelhub/jobs/mhjob-a-12/../mhjob-b-13/",
    " s3://modelhub-bucket/modelhub/datasets/ds-b-4/ ",
])
def test_references_reaching_other_users_data_are_refused(uri):
    problem = check(uri)
    assert problem and ("ModelHub's own storage" in problem or "'..' segments" in problem), uri


@pytest.mark.parametrize("uri", [
    "s3://modelhub-bucket/modelhub/jobs/mhjob-a-12/",
    "s3://modelhub-bucket/modelhub/jobs/mhjob-a-12/output/model/",
    "s3://modelhub-bucket/modelhub/datasets/ds-a-3/upload/data.jsonl",
    "s3://my-own-bucket/modelhub/datasets/",             # another bucket: the user's business
    "s3://modelhub-bucket/other-team/data/",             # beside ModelHub's prefix, not overlapping it
    "s3://modelhub-bucket//modelhub/datasets/",          # a different key ("/modelhub/..."), not ours
    "Qwen/Qwen3-8B",                                      # not a storage location
    "alpaca_en_demo",
])
def test_own_prefixes_and_outside_locations_are_allowed(uri):
    assert check(uri) is None


def test_admins_may_reference_anything():
    assert check("s3://modelhub-bucket/modelhub/d", user=ADMIN) is None


def test_local_store_paths_are_compared_after_resolving_dots_and_links(tmp_path):
    store = tmp_path / "storage"
    (store / "datasets" / "ds-b-4").mkdir(parents=True)
    (store / "datasets" / "ds-a-3").mkdir(parents=True)
    link = tmp_path / "innocent"
    os.symlink(store / "datasets" / "ds-b-4", link)
    spaces, own = [store.as_uri() + "/"], [(store / "datasets" / "ds-a-3").as_uri() + "/"]
    refused = [str(store / "datasets" / "ds-b-4"), f"{store}/datasets/ds-a-3/../ds-b-4", str(link),
               (store / "datasets").as_uri(), str(tmp_path), f"{store}/datasets/ds-a-3-evil"]
    for uri in refused:
        assert check_reference(uri, ALICE, own, spaces=spaces), uri
    assert check_reference(str(store / "datasets" / "ds-a-3" / "x.jsonl"), ALICE, own, spaces=spaces) is None
    assert check_reference(str(tmp_path / "elsewhere"), ALICE, own, spaces=spaces) is None


def test_the_space_comes_from_settings(settings, tmp_path):
    settings.S3_BUCKET, settings.S3_PREFIX, settings.STORAGE_DIR = "b", "/mh/", tmp_path
    assert modelhub_prefixes() == [tmp_path.resolve().as_uri() + "/", "s3://b/mh/"]
    settings.S3_PREFIX = ""
    assert modelhub_prefixes()[1] == "s3://b/"  # no prefix: the whole bucket is ModelHub's
    settings.S3_BUCKET = ""
    assert len(modelhub_prefixes()) == 1
