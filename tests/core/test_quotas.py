"""apps/core/quotas.py: clear messages when a request would go over a user's quota."""

import pytest

from apps.core.quotas import Limits, Usage, quota_problem


class Person:
    def __init__(self, admin=False):
        self.is_admin = admin


LIMITS = Limits(jobs=2, endpoints=1, instances=4)


def test_within_every_limit_passes():
    assert quota_problem(Person(), Usage(jobs=1, instances=2), Usage(jobs=1, instances=2), LIMITS) is None


@pytest.mark.parametrize("in_use, adding, words", [
    (Usage(jobs=2), Usage(jobs=1), "at most 2 training jobs running or queued; you have 2 and this needs 1 more"),
    (Usage(endpoints=1), Usage(endpoints=1, instances=1), "at most 1 endpoints"),
    (Usage(instances=3), Usage(jobs=1, instances=2), "at most 4 instances in use by your jobs and endpoints"),
])
def test_over_a_limit_says_which_and_how_to_get_under_it(in_use, adding, words):
    problem = quota_problem(Person(), in_use, adding, LIMITS)
    assert problem.startswith("Quota reached: you may have") and words in problem and "QUOTA_" in problem


def test_zero_is_no_limit_and_admins_have_none():
    assert quota_problem(Person(), Usage(jobs=99), Usage(jobs=1), Limits(jobs=0)) is None
    assert quota_problem(Person(admin=True), Usage(jobs=99), Usage(jobs=1), LIMITS) is None


def test_over_a_limit_already_does_not_block_what_adds_nothing_to_it():
    # An endpoint update that adds no instance passes even when jobs are over their (lowered) limit.
    assert quota_problem(Person(), Usage(jobs=5, instances=2), Usage(endpoints=0, instances=0), LIMITS) is None


def test_limits_come_from_settings(settings):
    settings.QUOTA_CONCURRENT_JOBS, settings.QUOTA_ENDPOINTS, settings.QUOTA_INSTANCES = 1, 2, 3
    assert Limits.from_settings() == Limits(1, 2, 3)
    assert "at most 1 training jobs" in quota_problem(Person(), Usage(jobs=1), Usage(jobs=1))
