"""The filing document (R7.2, Provisions art. 7): the platform's management systems as they are configured
now, for filing (备案) with the national or provincial cyberspace office.

Everything is read at generation time from the other apps' models, rules modules and settings (never
their views): group categories and tiers with their rules and caps, the credit levels and what each
allows, the sanctions with their default durations, escalation and limits, complaint deadlines, the
reason categories that screening and complaints use with the size of the screening lexicon, the user
agreement and platform rules in force, real-name rules, retention periods and the limits of emergency
measures. Each section cites the article and requirement it implements. Settings and codes are printed by
their translated labels (the verifier, activity levels, credit reasons, categories), never raw.

``filing_build()`` returns the structured document; the Markdown, the page's HTML and the PDF
(``reports.filing_pdf``) are all rendered from it. The version is derived from the content: the first
eight hex digits of the SHA-256 of the Markdown body rendered in Chinese (the filed language), so the
same configuration always gives the same version and any change gives a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from audit.services import RETENTION_FLOOR_DAYS
from common.reasons import Reason, reason_kind
from credit.models import CreditLevel, CreditReason
from groups.models import EmergencyKind, GroupCategory, GroupTier, JoinMode
from identity.models import ACCEPTANCE_REQUIRED, AgreementKind
from identity.selectors import agreement_current_all
from moderation.models import SanctionKind
from moderation.selectors import deadline_hours_in_force, sanction_rules_in_force
from screening.models import Action, LexiconTerm
from screening.selectors import lexicon_version_current

FILED_LANGUAGE = "zh-hans"
SHANGHAI = ZoneInfo("Asia/Shanghai")
_CN_DIGITS = "零一二三四五六七八九十"


# R7.1: the activity levels of ``GROUP_ACTIVITY_THRESHOLDS`` (groups stores the code only).
ACTIVITY_LABELS = {
    "quiet": gettext_lazy("Quiet"),
    "normal": gettext_lazy("Normal"),
    "active": gettext_lazy("Active"),
    "very_active": gettext_lazy("Very active"),
}
# R6.1: the verifier backends of ``IDENTITY_VERIFIER`` (``identity.services.VERIFIERS``).
VERIFIER_LABELS = {
    "fake": gettext_lazy("Simulated verifier (development and tests only)"),
    "staff": gettext_lazy("Review by compliance staff"),
    "result_only": gettext_lazy("National identity service, result only (nothing stored)"),
}


def activity_label(code: str) -> str:
    """An activity level's translated name (the code itself for one this table does not know)."""
    return str(ACTIVITY_LABELS.get(code, code))


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    cites: str
    intro: str
    facts: tuple[tuple[str, str], ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Filing:
    title: str
    operator: str
    operator_set: bool
    generated_at: datetime  # Asia/Shanghai
    version: str
    sections: tuple[Section, ...]
    markdown: str

    @property
    def file_stem(self) -> str:
        return f"filing-{self.generated_at:%Y%m%d}-{self.version}"


# --- small formatting helpers --------------------------------------------------------------------------


def _cn_number(n: int) -> str:
    if n <= 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + _CN_DIGITS[n - 10]
    return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")


def _article(number: int, paragraph: int | None = None) -> str:
    """An article of the Provisions as the current language cites it."""
    if (get_language() or "").startswith("zh"):
        return f"第{_cn_number(number)}条" + (f"第{_cn_number(paragraph)}款" if paragraph else "")
    return f"art. {number}" + (f"({paragraph})" if paragraph else "")


def _cites(articles: list[tuple[int, int | None]], requirements: str) -> str:
    names = (", " if _english() else "、").join(_article(n, p) for n, p in articles)
    return _("Provisions %(articles)s; requirements %(requirements)s") % {
        "articles": names,
        "requirements": requirements,
    }


def _yes(value: bool) -> str:
    return _("yes") if value else _("no")


def _hours(hours: int | None) -> str:
    if hours is None:
        return _("permanent")
    if hours % 24 == 0:
        return _("%(n)d d") % {"n": hours // 24}
    return _("%(n)d h") % {"n": hours}


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _table_section(
    key: str,
    title: str,
    cites: str,
    intro: str,
    headers: tuple[str, ...],
    rows,
    *,
    facts: tuple[tuple[str, str], ...] = (),
) -> Section:
    """A titled section whose body is one table (with facts above it, if any)."""
    return Section(
        key=key,
        title=title,
        cites=cites,
        intro=intro,
        facts=tuple(facts),
        tables=(Table(tuple(headers), tuple(tuple(row) for row in rows)),),
    )


def _category_names() -> dict[str, str]:
    return {c.code: c.label for c in GroupCategory.objects.all()}


def _local_date(moment) -> str:
    return f"{moment.astimezone(SHANGHAI):%Y-%m-%d}"


# --- the sections --------------------------------------------------------------------------------------


def _documents() -> Section:
    """R5.2, R5.3: the rule documents in force, their versions and publication dates."""
    rows = tuple(
        (
            str(AgreementKind(doc.kind).label),
            doc.title,
            f"v{doc.version}",
            _local_date(doc.published_at),
            _yes(doc.kind in ACCEPTANCE_REQUIRED),
            reverse("legal-document", kwargs={"kind": doc.kind}),
        )
        for doc in sorted(agreement_current_all(), key=lambda doc: list(AgreementKind.values).index(doc.kind))
    )
    return _table_section(
        "documents",
        _("User agreement and platform rules in force"),
        _cites([(5, 2)], "R5.2, R5.3"),
        _(
            "The management rules, the platform convention and the service agreement are published at "
            "stable public addresses, each version kept. Every user accepts the current service agreement "
            "and convention; after a new version, a user may not publish again before accepting it."
        ),
        (
            _("Document"),
            _("Title"),
            _("Version in force"),
            _("Published"),
            _("Every user must accept it"),
            _("Public address"),
        ),
        rows,
    )


def _categories() -> Section:
    modes = dict(JoinMode.choices)
    names = _category_names()
    default = settings.GROUP_DEFAULT_CATEGORY
    return _table_section(
        "categories",
        _("Group categories"),
        _cites([(7, 1), (8, 1), (8, 3)], "R7.1, R8.1, R8.4, R8.5"),
        _(
            "Groups are classified by their nature. The category decides who may create a group (credit "
            "level, staff review), its largest size, how people may join and from what size joiners must "
            "have verified their real identity."
        ),
        (
            _("Code"),
            _("Category"),
            _("Open for new groups"),
            _("Creator's credit level at least"),
            _("Creation reviewed by staff"),
            _("Largest size"),
            _("Join modes"),
            _("Joiners verified above"),
        ),
        (
            (
                c.code,
                c.label,
                _yes(c.enabled),
                str(c.min_creator_level),
                _yes(c.needs_review),
                str(c.max_size),
                "; ".join(str(modes.get(m, m)) for m in c.join_modes),
                str(c.verified_above),
            )
            for c in GroupCategory.objects.order_by("position", "code")
        ),
        facts=(
            (_("Largest size of a group without a category"), str(settings.GROUP_MAX_MEMBERS)),
            (_("Category of new groups by default"), f"{names.get(default, default)} ({default})"),
        ),
    )


def _tiers() -> Section:
    activity = "; ".join(
        f"{activity_label(name)} ≥ {count}" for name, count in settings.GROUP_ACTIVITY_THRESHOLDS
    )
    return _table_section(
        "tiers",
        _("Group tiers by member scale and activity"),
        _cites([(7, 1), (8, 2), (8, 3)], "R7.1, R8.3, R8.5, R8.6"),
        _(
            "The rules that apply to a group follow from its tier, by member count: whether invitations "
            "need the invitee's confirmation, whether joiners must be verified and whether an open "
            "invitation link is allowed. Activity is classified daily from the last seven days' messages."
        ),
        (
            _("Tier"),
            _("Tier name"),
            _("From members"),
            _("Invitations need confirmation"),
            _("Joiners must be verified"),
            _("Open invitation link allowed"),
        ),
        (
            (
                f"T{t.number}",
                t.name_en if _english() else t.name,
                str(t.min_members),
                _yes(t.invite_needs_confirmation),
                _yes(t.joiners_must_be_verified),
                _yes(t.open_link_allowed),
            )
            for t in GroupTier.objects.order_by("number")
        ),
        facts=(
            (_("Activity levels (messages in 7 days)"), activity),
            (_("Group info page from members"), str(settings.GROUP_INFO_PAGE_THRESHOLD)),
            (_("Admins per group at most"), str(settings.GROUP_MAX_ADMINS)),
        ),
    )


def _credit() -> Section:
    names = _category_names()
    reasons = dict(CreditReason.choices)
    points = "; ".join(
        f"{reasons.get(reason, reason)} +{value}" for reason, value in sorted(settings.CREDIT_POINTS.items())
    )
    return _table_section(
        "credit",
        _("Credit levels and what each allows"),
        _cites([(7, 2), (8, 1)], "R7.3, R8.1"),
        _(
            "Every user has a credit score; the level follows from the score (a sanction may cap it for a "
            "while) and decides what the user may do. Staff change the grid; every change is kept and "
            "audited."
        ),
        (
            _("Level"),
            _("Level name"),
            _("From score"),
            _("Groups owned"),
            _("Groups joined"),
            _("Largest group created"),
            _("Categories one may create in"),
            _("Messages per minute"),
            _("May be admin"),
            _("Largest file (MB)"),
        ),
        (
            (
                f"L{level.number}",
                level.name_en if _english() else level.name,
                str(level.min_score),
                str(level.max_groups_owned),
                str(level.max_groups_joined),
                str(level.max_group_size),
                _("all")
                if "*" in (level.creatable_categories or [])
                else ", ".join(names.get(code, code) for code in level.creatable_categories or []) or "—",
                str(level.messages_per_minute),
                _yes(level.may_be_admin),
                str(level.max_upload_mb),
            )
            for level in CreditLevel.objects.order_by("number")
        ),
        facts=(
            (_("Points earned"), points),
            (_("Days without a penalty that count as good standing"), str(settings.CREDIT_QUIET_DAYS)),
            (
                _("Staff adjustments above this need a second approver"),
                str(settings.CREDIT_ADJUST_APPROVAL_THRESHOLD),
            ),
        ),
    )


def _sanctions() -> Section:
    found = sanction_rules_in_force(SanctionKind.values)
    rows = []
    for kind, label in SanctionKind.choices:
        rule = found["kinds"][kind]
        if "points" in rule:
            steps = " → ".join(str(points) for points in rule["points"])
            allowed = _("at most %(n)d points") % {"n": rule["max"]}
            rows.append((str(label), _("points: %(steps)s") % {"steps": steps}, allowed, _yes(False)))
            continue
        steps = " → ".join(_hours(hours) for hours in rule["hours"])
        limits = rule["limits"]
        allowed = (
            _("%(low)s to %(high)s") % {"low": _hours(limits[0]), "high": _hours(limits[1])}
            if limits
            else "—"
        )
        rows.append((str(label), steps, allowed, _yes(rule["permanent"])))
    return _table_section(
        "sanctions",
        _("Sanctions, default durations and escalation"),
        _cites([(11, 1), (11, 2), (11, 3)], "R11.1, R11.2, R11.3"),
        _(
            "Measures on groups and on people, with their default duration by step: a target's first "
            "measure takes the first step, each further measure within the history window the next, and "
            "past the last step the last one repeats. A reviewer may choose another duration within the "
            "limits; closures, blacklisting and permanent measures need a supervisor's approval."
        ),
        (_("Measure"), _("Default by step"), _("Reviewer may choose"), _("May be permanent")),
        rows,
        facts=(
            (_("History that counts for escalation (days)"), str(found["history_days"])),
            (_("Appeal window after a measure takes effect (days)"), str(found["appeal_window_days"])),
        ),
    )


def _reason_kind_labels() -> dict[str, str]:
    return {
        "illegal": _("illegal"),
        "harmful": _("harmful"),
        "conduct": _("prohibited conduct"),
        "account": _("account information"),
    }


def _complaints() -> Section:
    labels = _reason_kind_labels()
    example = {
        kind: next(code for code in Reason.values if reason_kind(code).value == kind) for kind in labels
    }
    queue = (
        (_("Held message"), _hours(deadline_hours_in_force(target_kind="", queue_kind="held_message"))),
        (
            _("Held message, illegal content"),
            _hours(deadline_hours_in_force(target_kind="", queue_kind="held_message", category="ILL_OTHER")),
        ),
        (
            _("Group creation request"),
            _hours(deadline_hours_in_force(target_kind="", queue_kind="group_request")),
        ),
        (
            _("Real-name review"),
            _hours(deadline_hours_in_force(target_kind="", queue_kind="identity_review")),
        ),
        (_("Appeal"), _hours(deadline_hours_in_force(target_kind="", queue_kind="appeal"))),
    )
    return _table_section(
        "complaints",
        _("Complaints and handling deadlines"),
        _cites([(12, 1)], "R12.1"),
        _(
            "Every message, member and group has a report entry. A case is due within the hours set for "
            "its strongest reason; overdue items are escalated to supervisors."
        ),
        (_("Reason kind"), _("Message"), _("Group"), _("User")),
        (
            (
                label,
                *(
                    _hours(deadline_hours_in_force(target_kind=target, category=example[kind]))
                    for target in ("message", "group", "user")
                ),
            )
            for kind, label in labels.items()
        ),
        facts=queue,
    )


def _reasons() -> Section:
    labels = _reason_kind_labels()
    return _table_section(
        "reasons",
        _("Screening and complaint categories"),
        _cites([(10, None), (12, 1)], "R10.1, R12.1"),
        _(
            "Screening, complaints, sanctions and reports all use these reason codes. Illegal content is "
            "removed, recorded and reported; harmful content is limited and warned about."
        ),
        (_("Code"), _("Kind"), _("Category")),
        ((code, labels[reason_kind(code).value], str(label)) for code, label in Reason.choices),
    )


def _lexicon() -> Section:
    """R10.1: how many terms the screening lexicon holds in force, by reason category and action (the
    terms themselves are not filed)."""
    counts = {
        (row["category"], row["action"]): row["n"]
        for row in LexiconTerm.objects.filter(enabled=True)
        .values("category", "action")
        .annotate(n=Count("pk"))
        .order_by()
    }
    actions = Action.choices
    rows = []
    for code, label in Reason.choices:
        per_action = [counts.get((code, value), 0) for value, _label in actions]
        if sum(per_action):
            rows.append((code, str(label), *(str(n) for n in per_action), str(sum(per_action))))
    version = lexicon_version_current()
    return _table_section(
        "lexicon",
        _("Screening lexicon in force"),
        _cites([(10, None)], "R10.1"),
        _(
            "Messages, nicknames and other profile fields, group names and announcements are screened "
            "against a lexicon managed by staff. Each enabled term blocks, holds for review or flags what "
            "contains it; every change makes a new lexicon version."
        ),
        (_("Code"), _("Category"), *(str(label) for _value, label in actions), _("Enabled terms")),
        rows,
        facts=(
            (_("Enabled terms"), str(sum(counts.values()))),
            (_("Lexicon version"), f"v{version.pk}" if version else "—"),
        ),
    )


def _real_name() -> Section:
    verifier = settings.IDENTITY_VERIFIER
    return Section(
        key="real_name",
        title=_("Real-name rules"),
        cites=_cites([(6, 1), (6, 2)], "R6.1, R6.2, R6.3"),
        intro=_(
            "Backend real name, frontend voluntary: every user's identity is verified (name, resident ID "
            "number, phone) before they may publish, create or manage a group. ID numbers and real names "
            "are encrypted at rest and masked in every view."
        ),
        facts=(
            (_("Verification backend"), str(VERIFIER_LABELS.get(verifier, verifier))),
            (_("Accounts per ID number at most"), str(settings.IDENTITY_ACCOUNTS_PER_ID)),
            (_("Age below which a guardian consents"), str(settings.IDENTITY_GUARDIAN_AGE)),
            (_("Verification attempts per day at most"), str(settings.IDENTITY_SUBMISSIONS_PER_DAY)),
        ),
    )


def _retention() -> Section:
    names = {
        "audit_events": _("Audit events"),
        "network_logs": _("Network logs"),
        "removed_messages": _("Removed messages"),
        "evidence_snapshots": _("Evidence snapshots"),
        "retention_locked_accounts": _("Locked accounts' records"),
    }
    return _table_section(
        "retention",
        _("Log and record retention"),
        _cites([(13, 2)], "R13.2"),
        _(
            "Records are kept for the days below; nothing is removed younger than the floor, whatever the "
            "configuration says, and legal holds stop purging."
        ),
        (_("Record"), _("Kept for (days)")),
        (
            (str(names.get(key, key)), str(max(int(days), RETENTION_FLOOR_DAYS)))
            for key, days in settings.RETENTION_DAYS.items()
        ),
        facts=((_("Retention floor (days)"), str(RETENTION_FLOOR_DAYS)),),
    )


def _emergency() -> Section:
    return Section(
        key="emergency",
        title=_("Emergency measures"),
        cites=_cites([(5, 1)], "R5.1"),
        intro=_(
            "Supervisors may declare platform-wide measures in an incident, with a reason, a start and an "
            "end; holding and suspending may be limited to categories of groups."
        ),
        facts=(
            (_("Longest declaration (days)"), str(settings.EMERGENCY_MAX_DAYS)),
            (_("Measures available"), "; ".join(str(label) for _kind, label in EmergencyKind.choices)),
        ),
    )


SECTIONS = (
    _documents,
    _categories,
    _tiers,
    _credit,
    _sanctions,
    _complaints,
    _reasons,
    _lexicon,
    _real_name,
    _retention,
    _emergency,
)


# --- Markdown ------------------------------------------------------------------------------------------


NONE_CONFIGURED = gettext_lazy("None configured.")  # an empty table, in every rendering


def _cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def sections_markdown(sections) -> str:
    out = []
    for number, section in enumerate(sections, start=1):
        out.append(f"## {number}. {section.title}\n")
        out.append(f"*{section.cites}*\n")
        out.append(f"{section.intro}\n")
        for label, value in section.facts:
            out.append(f"- {_cell(label)}: {_cell(value)}")
        if section.facts:
            out.append("")
        for table in section.tables:
            out.append("| " + " | ".join(_cell(h) for h in table.headers) + " |")
            out.append("|" + "---|" * len(table.headers))
            out.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows)
            if not table.rows:
                out.append(f"| {_cell(NONE_CONFIGURED)} |" + " |" * (len(table.headers) - 1))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


def _operator() -> tuple[str, bool]:
    name = (getattr(settings, "FILING_OPERATOR_NAME", "") or "").strip()
    return (name, True) if name else (_("[operator name: set FILING_OPERATOR_NAME]"), False)


def filing_version() -> str:
    """The content's version: the same configuration gives the same version, any change a new one."""
    with translation.override(FILED_LANGUAGE):
        operator, _set = _operator()
        body = f"{operator}\n" + sections_markdown([build() for build in SECTIONS])
    return hashlib.sha256(body.encode()).hexdigest()[:8]


def title_facts(operator: str, version: str, generated_at: datetime) -> list[tuple[str, str]]:
    return [
        (_("Operator"), operator),
        (_("Version"), version),
        (_("Generated at"), f"{generated_at:%Y-%m-%d %H:%M} (Asia/Shanghai)"),
        (_("Basis"), _("Internet Group Information Service Management Provisions (2017), art. 7")),
    ]


def filing_build(*, now: datetime | None = None) -> Filing:
    """The filing document in the current language, from the live configuration."""
    version = filing_version()
    generated_at = (now or timezone.now()).astimezone(SHANGHAI)
    sections = tuple(build() for build in SECTIONS)
    operator, operator_set = _operator()
    title = _("Filing document: management systems of the group information service")
    head = [f"# {title}\n"]
    head.extend(f"- {label}: {_cell(value)}" for label, value in title_facts(operator, version, generated_at))
    head.append("")
    markdown = "\n".join(head) + "\n" + sections_markdown(sections)
    return Filing(
        title=title,
        operator=operator,
        operator_set=operator_set,
        generated_at=generated_at,
        version=version,
        sections=sections,
        markdown=markdown,
    )
