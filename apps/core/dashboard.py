"""The dashboard is assembled from sections that each app contributes.

An app adds a section by listing a function in DASHBOARD_SECTIONS; each function takes the user
and returns a dict for `core/_section.html` (title, template, context) or None.
"""

from importlib import import_module

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from . import readiness
from .health import check_workers


def system_section(user):
    workers = check_workers()
    return {"title": _("System"), "template": "core/_system_section.html", "context": {"workers": workers}}


def targets_section(user):
    return {"title": _("Compute targets"), "template": "core/_targets_section.html",
            "context": {"targets": readiness.targets(), "where": readiness.WHERE_TO_SET, "is_admin": user.is_admin}}


def sections(user) -> list[dict]:
    result = []
    for path in [*settings.DASHBOARD_SECTIONS, "apps.core.dashboard.targets_section", "apps.core.dashboard.system_section"]:
        module, name = path.rsplit(".", 1)
        section = getattr(import_module(module), name)(user)
        if section:
            result.append(section)
    return result
