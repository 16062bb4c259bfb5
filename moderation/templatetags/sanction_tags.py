"""The measures panel of a compliance case (R11.1-R11.3): the form, the ladder's defaults, the measures
already taken from the case and the target's penalty history. Shown to staff who may issue sanctions, on
the case page and on the review queue's item page of the case."""

from django import template

from moderation import policies

register = template.Library()


@register.inclusion_tag("moderation/_measures.html", takes_context=True)
def case_measures_panel(context, case, next_url: str = "", compact: bool = False):
    """``next_url``: where a measure issued from the panel returns (a local address: the queue's item page
    that shows it); ``compact`` leaves the penalty history out where the page shows its own."""
    from moderation.views_sanctions import local_next, measures_context  # the measures page's own part

    request = context.get("request")
    user = getattr(request, "user", None)
    if not policies.can_issue_sanction(user):
        return {"shown": False}
    return {
        "shown": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "compact": compact,
        **measures_context(case, next_url=local_next(next_url)),
    }
