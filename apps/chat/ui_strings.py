"""The playground script's words, translated for the page (json_script "pg-strings").

static/js/playground.js looks each text up by its English and fills `{name}` placeholders itself; a text
missing here shows in English.
"""

from django.utils import translation
from django.utils.translation import gettext_lazy as _

PLAYGROUND = (
    _("Request failed (HTTP {status})."),
    _("{label} must be a number."),
    _("Base model"),
    _("Adapter: {name}"),
    _("{names} reads text only: images cannot be attached."),
    _("{names} read text only: images cannot be attached."),
    _(" and "),
    _("You"),
    _("Assistant"),
    _("Copy"),
    _("Copied"),
    _("Copy this reply as markdown"),
    _("Attached image"),
    _("{count} prompt tokens"),
    _("{count} tokens"),
    _("stopped"),
    _("cut at max tokens"),
    _("Rename"),
    _("Delete"),
    _("Open conversation {title}"),
    _("Rename {title}"),
    _("Delete {title}"),
    _("New title"),
    _("Delete “{title}”? This cannot be undone."),
    _("Generating…"),
    _("Waiting for the model"),
    _("Reasoning"),
    _("Attachment preview"),
    _("Remove"),
    _("Remove image {number}"),
    _("Attach at most 4 images per message."),
    _("{name} is larger than 5 MiB."),
)


def playground_strings() -> dict[str, str]:
    """English text -> the text in the active language, for the script's lookups."""
    translated = [str(text) for text in PLAYGROUND]
    with translation.override("en"):
        return dict(zip((str(text) for text in PLAYGROUND), translated, strict=True))
