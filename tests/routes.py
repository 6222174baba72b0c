"""Every named URL of the site, walked from the resolver (for the i18n walk and the authorization matrix)."""

from django.urls import URLPattern, URLResolver, get_resolver


def routes(patterns=None, prefix="", namespace=""):
    """(pattern, namespaced name) of every named route."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from routes(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield prefix + str(entry.pattern), namespace + entry.name
