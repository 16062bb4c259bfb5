"""The measures panel of a compliance case (R11.1-R11.3): the form, the ladder's defaults, the measures
already taken from the case and the target's penalty history. Shown to staff who may issue sanctions."""

from django import template

from moderation import policies

register = template.Library()


@register.inclusion_tag("moderation/_measures.html", takes_context=True)
def case_measures_panel(context, case):
    from moderation.views_sanctions import measures_context  # the panel is the measures page's own part

    request = context.get("request")
    user = getattr(request, "user", None)
    if not policies.can_issue_sanction(user):
        return {"shown": False}
    return {
        "shown": True,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        **measures_context(case),
    }
