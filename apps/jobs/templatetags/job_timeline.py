from django import template

from apps.jobs.timeline import spot_markers as markers_of
from apps.jobs.timeline import summarise

register = template.Library()


@register.simple_tag
def spot_markers(events) -> dict:
    """{"markers": [...], "summary": SpotSummary} for a job's events (see apps/jobs/timeline.py)."""
    markers = markers_of(events)
    return {"markers": markers, "summary": summarise(markers)}
