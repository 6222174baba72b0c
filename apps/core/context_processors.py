from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

# (label, url name, the first path segment that marks it active)
NAVIGATION = [
    (_("Dashboard"), "dashboard", ""),
    (_("Jobs"), "jobs:list", "jobs"),
    (_("Endpoints"), "endpoints:list", "endpoints"),
    (_("Playground"), "chat:playground", "playground"),
    (_("Catalog"), "catalog:models", "catalog"),
    (_("Clusters"), "clusters:list", "clusters"),
]


def navigation(request):
    section = request.path.strip("/").split("/", 1)[0]
    items = []
    for label, name, segment in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:  # an app whose pages are not wired yet stays out of the menu
            continue
        items.append({"label": label, "url": url, "active": section == segment})
    if getattr(request.user, "is_admin", False):
        items.append({"label": _("Users"), "url": reverse("users-admin:list"), "active": section == "users"})
    return {"nav_items": items}
