from django.urls import NoReverseMatch, reverse

# (label, url name, the first path segment that marks it active)
NAVIGATION = [
    ("Dashboard", "dashboard", ""),
    ("Jobs", "jobs:list", "jobs"),
    ("Endpoints", "endpoints:list", "endpoints"),
    ("Playground", "chat:playground", "playground"),
    ("Catalog", "catalog:models", "catalog"),
    ("Clusters", "clusters:list", "clusters"),
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
        items.append({"label": "Users", "url": reverse("users-admin:list"), "active": section == "users"})
    return {"nav_items": items}
