"""Appeals in the review queue (R11.1-R11.3, R12.1): the source of kind ``"appeal"``.

``services.appeal_file`` opens the item in its transaction and ``services.appeal_decide`` settles it; the
periodic sync checks them too (``pending``). Decisions go through ``services.appeal_decide``, whose policy
refuses those who decided the measure, whatever the door.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from moderation.models import Appeal, AppealStatus, ReviewKind
from moderation.queue import Choice, Entry, Source, register

TITLE_MAX = 200


def _appeals_load(ids) -> dict[int, Appeal]:
    return Appeal.objects.select_related(
        "filed_by", "sanction", "sanction__target_group", "sanction__target_user", "sanction__decided_by"
    ).in_bulk(list(ids))


def _entries(appeals: list[Appeal]) -> list[Entry]:
    return [
        Entry(
            title=" · ".join(
                part
                for part in (
                    str(a.sanction.get_kind_display()),
                    a.sanction.target_user.display_name
                    if a.sanction.target_user_id
                    else a.sanction.target_group.name,
                    a.text[:80],
                )
                if part
            )[:TITLE_MAX],
            group_id=a.sanction.target_group_id,
            subject_id=a.sanction.target_user_id or a.filed_by_id,
            category=a.sanction.category,
        )
        for a in appeals
    ]


def _decide(actor, appeal: Appeal, code: str, note: str):
    from moderation import services  # the services import the queue: decided at call time

    return services.appeal_decide(actor=actor, appeal=appeal, uphold=code == "uphold", note=note)


SOURCE = register(
    Source(
        kind=ReviewKind.APPEAL,
        label=ReviewKind.APPEAL.label,
        permission="moderation.decide_appeal",
        choices=(
            Choice(
                "uphold",
                _("Uphold: reverse the measure"),
                key="a",
                style="primary",
                note="optional",
                note_label=_("Decision"),
            ),
            Choice(
                "reject",
                _("Reject"),
                key="r",
                style="danger",
                note="required",
                note_label=_("Decision"),
            ),
        ),
        load=_appeals_load,
        is_pending=lambda appeal: appeal.status == AppealStatus.PENDING,
        describe=_entries,
        decide=_decide,
        template="moderation/queue/_appeal.html",
        context=lambda appeal: {"appeal": appeal, "sanction": appeal.sanction},
        pending=lambda: Appeal.objects.filter(status=AppealStatus.PENDING),
        own_services=True,
    )
)
