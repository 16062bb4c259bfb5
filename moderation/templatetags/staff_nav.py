"""The header's staff menu: the compliance and administration pages a member of staff may open, grouped
in one menu so that the header stays one line (members' own links stay as they are). Each link is shown
on the same permission as its page asks for; the pages check it again."""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

register = template.Library()

REVIEW_PERMISSIONS = (
    "moderation.change_case",
    "groups.review_message",
    "groups.review_chatgroup",
    "identity.review_identityverification",
)


def _links(user) -> list[tuple[str, object, bool]]:
    """(route name, label, shown) in the menu's order."""
    staff = bool(user.is_staff)
    has = user.has_perm
    return [
        ("compliance-queue", _("Review queue"), staff and any(has(p) for p in REVIEW_PERMISSIONS)),
        ("case-list", _("Cases"), staff and has("moderation.change_case")),
        (
            "sanction-list",
            _("Sanctions"),
            staff and (has("moderation.view_sanction") or has("moderation.add_sanction")),
        ),
        ("emergency-measures", _("Emergency"), staff and has("groups.view_emergencymeasure")),
        ("review-queue", _("Verification review"), has("identity.review_identityverification")),
        ("audit-search", _("Audit"), has("audit.export_auditevent")),
        ("report-register", _("Regulator reports"), staff and has("reports.view_regulatorreport")),
        (
            "filing",
            _("Filing document"),
            staff and (has("moderation.approve_sanction") or has("moderation.receive_escalations")),
        ),
        ("compliance-dashboard", _("Compliance dashboard"), has("moderation.approve_sanction")),
        ("inspection-grants", _("Inspector access"), staff and has("reports.view_inspectiongrant")),
        ("admin:index", _("Administration"), staff),
    ]


@register.inclusion_tag("includes/staff_menu.html", takes_context=True)
def staff_menu(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"links": []}
    path = request.path
    links = []
    for name, label, shown in _links(user):
        if shown:
            url = reverse(name)
            links.append({"url": url, "label": label, "current": path.startswith(url)})
    return {"links": links, "current": any(link["current"] for link in links)}
