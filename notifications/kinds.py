"""The kinds of notification: each with a translatable title and body, a link to act on, a severity,
whether the person may turn it off, and whether it goes by text message too.

Apps register the kinds they send (in their ``apps.ready``) with ``register``; ``notify`` refuses a kind
nobody registered, so a typo cannot send an empty notice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kind:
    code: str
    title: str  # lazy, formatted with the notice's context
    body: str
    link: str = ""  # a URL template, formatted with the context
    severity: str = "info"  # info | warning | critical
    required: bool = False  # the platform's duty to tell: cannot be turned off (R11, R5.3)
    sms: bool = False  # also by text message (rate-limited, quiet hours respected)
    group: bool = False  # addressed to a whole group
    translate: tuple = ()  # context keys holding message ids, translated when the notice is shown

    def render(self, context: dict) -> dict:
        values = _Safe(context)
        for key in self.translate:
            if isinstance(values.get(key), str) and values[key]:
                values[key] = gettext(values[key])
        return {
            "title": str(self.title).format_map(values),
            "body": str(self.body).format_map(values),
            "link": self.link.format_map(values) if self.link else "",
            "severity": context.get("severity") or self.severity,  # a notice may be milder than its kind
        }


class _Safe(dict):
    """A missing value shows as empty rather than breaking the notice."""

    def __missing__(self, key):
        return ""


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.code] = kind
    return kind


def get(code: str) -> Kind:
    return KINDS[code]


# Kinds of the platform itself. Apps add their own in ``ready``.
register(
    Kind(
        "platform.agreement_changed",
        _("The rules have changed"),
        _("A new version of “{title}” takes effect. Please read and accept it to keep publishing."),
        link="/accounts/agreements/",
        severity="warning",
        required=True,
    )
)
register(
    Kind(
        "account.suspended",
        _("Your account is restricted"),
        _("{what} until {until}. Reason: {reason}. You may appeal."),
        link="/notifications/",
        severity="critical",
        required=True,
        sms=True,
    )
)
register(
    Kind(
        "identity.verification_decided",
        _("Real-name verification: {outcome}"),
        _("{note}"),
        link="/accounts/verify/",
        translate=("outcome",),
    )
)
register(
    Kind(
        "credit.changed",
        _("Your credit changed: {delta}"),
        _("{reason}. Your credit level is now {level}."),
        link="/credit/",
        severity="warning",
        required=True,
        translate=("reason",),
    )
)
register(
    Kind(
        "group.announcement",
        _("New announcement in {group_name}"),
        _("{text}"),
        link="/groups/{group}/",
        group=True,
    )
)
register(
    Kind(
        "group.posting_suspended",
        _("Posting suspended in {group_name}"),
        _("Until {until}. Reason: {reason}."),
        link="/groups/{group}/",
        severity="critical",
        required=True,
        group=True,
    )
)

register(
    Kind(
        "group.creation_decided",
        _("Your group {group_name}: {outcome}"),
        _("{note}"),
        link="/groups/{group}/",
        severity="info",
        required=True,
        translate=("outcome",),
    )
)

register(
    Kind(
        "group.muted",
        _("You are muted in {group_name}"),
        _("Until {until}. {reason}"),
        link="/groups/{group}/",
        severity="warning",
        required=True,
    )
)
register(
    Kind(
        "chat.mentioned",
        _("{who} mentioned you in {group_name}"),
        _("Open the group to read the message."),
        link="/groups/{group}/",
    )
)
register(
    Kind(
        "group.unmuted",
        _("You may speak again in {group_name}"),
        _("Your mute was lifted by {who}."),
        link="/groups/{group}/",
    )
)
register(
    Kind(
        "group.removed",
        _("You were removed from {group_name}"),
        _("{reason}"),
        link="/",
        severity="warning",
        required=True,
    )
)
register(
    Kind(
        "group.role_changed",
        _("Your role in {group_name} changed"),
        _("You are now: {role}."),
        link="/groups/{group}/",
        translate=("role",),
    )
)
register(
    Kind(
        "group.dissolved",
        _("{group_name} was dissolved"),
        _("{reason}"),
        link="/",
        severity="warning",
        required=True,
        group=True,
    )
)
register(
    Kind(
        "group.join_requested",
        _("{who} asks to join {group_name}"),
        _("Approve or decline the request."),
        link="/groups/{group}/manage/requests/",
    )
)
register(
    Kind(
        "group.join_decided",
        _("Your request to join {group_name}: {outcome}"),
        _("{note}"),
        link="/groups/{group}/",
        translate=("outcome",),
    )
)

register(
    Kind(
        "group.invited",
        _("{who} invites you to {group_name}"),
        _("Confirm or decline the invitation."),
        link="/invitations/",
    )
)
register(Kind("group.added", _("{who} added you to {group_name}"), _("{note}"), link="/groups/{group}/"))

# R12.1: the reporter is told that a report arrived and, once handled, its outcome (moderation).
register(
    Kind(
        "moderation.complaint_received",
        _("We received your report"),
        _("Your report about {target} in {group_name} will be handled; you will hear the outcome."),
        link="/reports/mine/",
        translate=("target",),
    )
)
register(
    Kind(
        "moderation.complaint_decided",
        _("Your report has been handled"),
        _("About {target} in {group_name}: {outcome}"),
        link="/reports/mine/",
        required=True,
        translate=("target",),
    )
)

# R11.1-R11.3: sanctions, the blacklist and appeals (moderation). Those affected are told what, why, until
# when and how to appeal; a sanction on a person also goes by text message.
register(
    Kind(
        "moderation.sanction_user",
        _("A measure on your account: {what}"),
        _("{what}. Until: {until}. Reason: {reason}. {note} If you disagree, appeal under My sanctions."),
        link="/sanctions/mine/",
        severity="critical",
        required=True,
        sms=True,
        translate=("what", "until", "reason"),
    )
)
register(
    Kind(
        "moderation.sanction_group",
        _("A measure on your group {group_name}: {what}"),
        _("{what}. Until: {until}. Reason: {reason}. {note} The owner may appeal under My sanctions."),
        link="/sanctions/mine/",
        severity="critical",
        required=True,
        translate=("what", "until", "reason"),
    )
)
register(
    Kind(
        "moderation.group_measure",
        _("{group_name}: {what}"),
        _("Until: {until}. Reason: {reason}."),
        link="/groups/{group}/",
        severity="critical",
        required=True,
        group=True,
        translate=("what", "until", "reason"),
    )
)
register(
    Kind(
        "moderation.sanction_ended",
        _("A measure has ended: {what}"),
        _("It ended at {ended}."),
        link="/sanctions/mine/",
        translate=("what",),
    )
)
register(
    Kind(
        "moderation.appeal_decided",
        _("Your appeal: {outcome}"),
        _("About: {what}. {note}"),
        link="/sanctions/mine/",
        required=True,
        translate=("outcome", "what"),
    )
)

# R11.1-R11.3, four eyes: the supervisors who may approve a closure, a blacklisting or a permanent measure
# are told that it waits for them (moderation's sanction_issue).
register(
    Kind(
        "moderation.sanction_pending",
        _("A measure waits for your approval: {what}"),
        _("On {on}, by {decider}. Reason: {reason}. It does nothing until a second person approves it."),
        link="/compliance/sanctions/{sanction}/",
        severity="warning",
        required=True,
        translate=("what", "reason"),
    )
)
# R12.1: supervisors are told when review items pass their deadline (moderation's escalation job).
register(
    Kind(
        "moderation.review_escalated",
        _("{count} review items are overdue"),
        _("They have been moved up the review queue. The most urgent: {kind}, {first}."),
        link="/compliance/queue/?overdue=1",
        severity="warning",
        required=True,
        translate=("kind",),
    )
)
# R10.1: the author of a message held by screening is told how it was decided.
register(
    Kind(
        "group.message_reviewed",
        _("Your held message in {group_name}: {outcome}"),
        _("{note}"),
        link="/groups/{group}/",
        translate=("outcome",),
    )
)

# Message ids stored in notices' context and translated when shown (see ``Kind.translate``).
OUTCOMES = (
    gettext_noop("released"),
    gettext_noop("removed"),
    gettext_noop("passed"),
    gettext_noop("not passed"),
    gettext_noop("approved"),
    gettext_noop("refused"),
    gettext_noop("declined"),
    gettext_noop("Member"),
    gettext_noop("Owner"),
    gettext_noop("upheld: the measure is reversed"),
    gettext_noop("not upheld: the measure stands"),
    gettext_noop("no end date"),
)
# R13.1: an inspector is told of the access granted to them, and when it is revoked early.
register(
    Kind(
        "reports.inspection_granted",
        _("Inspection access granted: {authority}"),
        _("From {starts} to {ends} you may read, read-only, the records a compliance supervisor named."),
        link="/inspection/{grant}/",
        required=True,
    )
)
register(
    Kind(
        "reports.inspection_revoked",
        _("Inspection access revoked: {authority}"),
        _("A compliance supervisor ended your access early. Reason: {reason}."),
        link="/inspection/",
        severity="warning",
        required=True,
    )
)
