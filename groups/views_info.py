"""R8.3: the public info page of a group that has reached the size threshold (its report link, R12.1, is
moderation's ``group-report``).

Open to everyone, signed in or not. A group below the threshold, not active, or unknown is the same 404,
so the page cannot be used to learn whether a smaller group exists.
"""

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from groups.models import ChatGroup, GroupStatus, Membership, Role


def _public_group(code: str) -> ChatGroup:
    """The active group with ``code`` and at least ``GROUP_INFO_PAGE_THRESHOLD`` active members, with its
    member count, category and owner's nickname, in one query; 404 otherwise.

    A selector by nature (``group_get_public``); kept next to its only caller for now.
    """
    owner = Membership.objects.filter(group=OuterRef("pk"), role=Role.OWNER, left_at__isnull=True)
    # The nickname only, never the real name (R6.1); the username stands in for an empty nickname.
    shown = Coalesce(NullIf("user__nickname", Value("")), "user__username")
    group = (
        ChatGroup.objects.filter(code=code, status=GroupStatus.ACTIVE)
        .select_related("category")
        .annotate(
            member_count=Count("memberships", filter=Q(memberships__left_at__isnull=True)),
            owner_nickname=Subquery(owner.annotate(shown=shown).values("shown")[:1]),
        )
        .filter(member_count__gte=settings.GROUP_INFO_PAGE_THRESHOLD)
        .first()
    )
    if group is None:
        raise Http404
    return group


@require_GET
def group_info(request, code):
    return render(request, "groups/info.html", {"group": _public_group(code)})
