"""Every URL and socket route, for every role, with its expected outcome (issue 13's table).

A new route without its rows fails ``test_every_route_has_rows``; each row is then checked for real.
Roles: anonymous, non_member (signed in, not in the group), member, owner, admin (appointed by the owner)
and other_owner (the owner of another group); two compliance staff roles, reviewer and supervisor (the
Django auth groups of those names, outside the world's group); and the people a rule singles out:
unverified (signed up, not verified, outside the group), muted (a member the owner muted, R9.2), suspended
(a member whose account a platform administrator suspended, R11.2), blacklisted (a member put on the
blacklist, R11.3), inspector_in and inspector_out (inspector accounts whose grant covers the world's group,
or another group only, R13.1) and platform_admin (a superuser outside the group).

A row names the first four; every other role answers as the role ``FALLBACK`` names unless the row says
otherwise: admin as the owner, other_owner and unverified as the non-member, reviewer as the non-member and
supervisor as the reviewer, the muted, suspended and blacklisted member as the member, inspector_in as the
non-member and inspector_out as inspector_in, and the platform administrator as the supervisor. Where a
role's answer differs, the row names it; ``ROLE_OVERRIDES`` holds the differences a role has on many routes
at once (a suspended account is refused everywhere it is signed in, say).
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from common.actors import Actor
from config.routing import websocket_urlpatterns
from groups import services
from identity import services as identity_services
from identity.models import RestrictionKind
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory
from tests.reports.test_inspection import in_role, make_grant

BASE_ROLES = ("anonymous", "non_member", "member", "owner")
ROLES = (
    *BASE_ROLES,
    "admin",
    "other_owner",
    "reviewer",
    "supervisor",
    "unverified",
    "muted",
    "suspended",
    "blacklisted",
    "inspector_in",
    "inspector_out",
    "platform_admin",
)
FALLBACK = {
    "admin": "owner",
    "other_owner": "non_member",
    "reviewer": "non_member",
    "supervisor": "reviewer",
    "unverified": "non_member",
    "muted": "member",
    "suspended": "member",
    "blacklisted": "member",
    "inspector_in": "non_member",
    "inspector_out": "inspector_in",
    "platform_admin": "supervisor",
}


def expected_for(row: dict, role: str, route=None):
    if role in row:
        return row[role]
    if route is not None and route in ROLE_OVERRIDES.get(role, {}):
        return ROLE_OVERRIDES[role][route]
    return expected_for(row, FALLBACK[role], route)


LOGIN = "login"  # a redirect to the sign-in page
REDIRECT = "redirect"  # any other redirect

# Compliance pages: a sign-in first, then refused to everyone outside the compliance roles.
_STAFF_ONLY = {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403}

# (route name, method) -> {role: expected status or LOGIN/REDIRECT}
MATRIX = {
    ("home", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("group-create", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("group-create", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
        # R6.2, R11.3: creating is publishing: the form comes back with the refusal, nothing is created
        "unverified": 200,
        "blacklisted": 200,
    },
    ("group-chat", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 200, "owner": 200},
    ("group-chat", "POST"): {"anonymous": LOGIN, "non_member": 404, "member": REDIRECT, "owner": REDIRECT},
    ("group-invite", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    ("group-invite", "POST"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": REDIRECT},
    ("group-leave", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": REDIRECT,
        "owner": 403,
        "admin": REDIRECT,  # only the owner must transfer first
    },
    ("group-join", "GET"): {"anonymous": 200, "non_member": 200, "member": REDIRECT, "owner": REDIRECT},
    ("group-join", "POST"): {"anonymous": 200, "non_member": REDIRECT, "member": REDIRECT, "owner": REDIRECT},
    ("signup", "GET"): {"anonymous": 200, "non_member": REDIRECT, "member": REDIRECT, "owner": REDIRECT},
    ("login", "GET"): {"anonymous": 200, "non_member": REDIRECT, "member": REDIRECT, "owner": REDIRECT},
    ("logout", "POST"): dict.fromkeys(BASE_ROLES, REDIRECT),
    ("api-groups", "GET"): {"anonymous": 403, "non_member": 200, "member": 200, "owner": 200},
    ("api-messages", "GET"): {"anonymous": 403, "non_member": 404, "member": 200, "owner": 200},
    # R9.2, R11.3: a muted or blacklisted member still reads, but posts nothing (403 with the rule's code)
    ("api-messages", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 201,
        "owner": 201,
        "muted": 403,
        "blacklisted": 403,
    },
    ("api-schema", "GET"): dict.fromkeys(BASE_ROLES, 200),
    # Pictures and files (issue 10): sent like messages; the file view answers members with a short-lived
    # link and everyone else with 404; a raw address without its signed link is 404 for everyone.
    ("api-message-file", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 201,
        "owner": 201,
        "muted": 403,
        "blacklisted": 403,
    },
    # R13.2: staff with the attachment permission open any file as evidence (the platform administrator has
    # every permission); the review roles are not given it.
    ("attachment", "GET"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": REDIRECT,
        "owner": REDIRECT,
        "platform_admin": REDIRECT,
    },
    ("attachment-thumbnail", "GET"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": REDIRECT,
        "owner": REDIRECT,
        "platform_admin": REDIRECT,
    },
    ("attachment-raw", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 404, "owner": 404},
    # Management API (R8.5, R9.2): owner and admins; a member gets 403 with the rule's code, someone outside
    # the group 404. Member routes act on the world's member; the world has no join request, so the owner's
    # decide reaches the 404 of an unknown id; message routes act on message 1, the member's; dismissing a
    # non-admin is refused.
    ("api-members", "GET"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-member-mute", "POST"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-member-unmute", "POST"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-member-remove", "POST"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-member-admin", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 403,
        "owner": 200,
        "admin": 403,  # appointing admins is the owner's (R8.6)
    },
    ("api-member-admin", "DELETE"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 403},
    ("api-join-requests", "GET"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    # Asking to join is for people outside the group (members are refused with already_member).
    # The world's group joins by link, so it takes no requests: a non-member learns nothing more (404).
    # An inspector account is refused before any group is looked up (R13.1: it takes no part in groups), so
    # its 403 says nothing about the group.
    ("api-join-requests", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 403,
        "owner": 403,
        "inspector_in": 403,
    },
    ("api-join-request-decide", "POST"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 404},
    ("api-group-settings", "PATCH"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-group-announcement", "PUT"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-message-remove", "POST"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-messages-search", "GET"): {"anonymous": 403, "non_member": 404, "member": 200, "owner": 200},
    # Recall is the sender's: the world's message 1 is the member's own, so the owner is refused.
    ("api-message-recall", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 200,
        "owner": 403,
        "muted": 403,
        "blacklisted": 403,
    },
    ("api-group-read", "POST"): {"anonymous": 403, "non_member": 404, "member": 200, "owner": 200},
    ("group-search", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 200, "owner": 200},
    ("message-recall", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": REDIRECT,
        "owner": REDIRECT,
    },
    ("api-group-pinned", "GET"): {"anonymous": 403, "non_member": 404, "member": 200, "owner": 200},
    ("api-group-pinned", "PUT"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("api-group-pinned", "DELETE"): {"anonymous": 403, "non_member": 404, "member": 403, "owner": 200},
    ("group-manage-message", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    # R8.3: the public info page exists only from GROUP_INFO_PAGE_THRESHOLD members (the world's group has
    # three, so 404 for everyone).
    ("group-info", "GET"): dict.fromkeys(BASE_ROLES, 404),
    # R12.1: the report entry of the world's group (not public): its members report it, everyone else gets
    # 404 (a public group's page answers visitors too: tests/moderation). Reporting files and redirects.
    ("group-report", "GET"): {"anonymous": 404, "non_member": 404, "member": 200, "owner": 200},
    ("group-report", "POST"): {"anonymous": 404, "non_member": 404, "member": REDIRECT, "owner": REDIRECT},
    ("my-reports", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    # The owner's and admins' view of their group's conduct cases, like every management page.
    ("group-manage-reports", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    # Cases: compliance staff with moderation.change_case only (none of these roles).
    # The review roles decide cases (the world has none: 404).
    ("case-list", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("case-detail", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    ("case-detail", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    # R5.1: emergency measures: staff roles see them, supervisors declare and end them (pk 1 does not exist).
    ("emergency-measures", "GET"): {**_STAFF_ONLY, "reviewer": 200},
    ("emergency-measures", "POST"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": REDIRECT},
    ("emergency-measure-end", "POST"): {**_STAFF_ONLY, "reviewer": 404},
    # R12.1: the review queue, for the reviewer and supervisor roles. The world's queue is empty: claiming
    # finds nothing (back to the queue, or 204 through the API), item 1 does not exist (404), and a bulk
    # decision on it is skipped (back to the queue with the summary).
    ("compliance-queue", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("compliance-queue-claim-next", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": REDIRECT,
    },
    ("compliance-queue-bulk", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": REDIRECT,
    },
    ("compliance-queue-item", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    ("compliance-queue-item", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    ("api-review-items", "GET"): {
        "anonymous": 403,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("api-review-claim-next", "POST"): {
        "anonymous": 403,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 204,
    },
    ("api-review-decide", "POST"): {
        "anonymous": 403,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    ("api-review-release", "POST"): {
        "anonymous": 403,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    # The API reports the world's message 1, the member's own: nobody reports themselves (403).
    # R12.1: complaining is everyone's: a muted or blacklisted member reports too.
    ("api-complaints", "POST"): {
        "anonymous": 403,
        "non_member": 404,
        "member": 403,
        "owner": 201,
        "muted": 201,
        "blacklisted": 201,
    },
    # R11.1-R11.3: sanctions are decided and listed by the review roles, approved by supervisors only; for
    # everyone else the policy answers (403) before anything is looked up. The world has no case and no
    # sanction (404 for the review roles); the API's body mutes the world's member (201). "My sanctions" is
    # every signed-in person's own, so an appeal of sanction 1 is 404 for everyone.
    ("case-measures", "GET"): {**_STAFF_ONLY, "reviewer": 404},
    ("case-measures", "POST"): {**_STAFF_ONLY, "reviewer": 404},
    ("sanction-list", "GET"): {**_STAFF_ONLY, "reviewer": 200},
    ("sanction-detail", "GET"): {**_STAFF_ONLY, "reviewer": 404},
    ("sanction-detail", "POST"): {**_STAFF_ONLY, "reviewer": 404},
    ("blacklist", "GET"): {**_STAFF_ONLY, "reviewer": 200},
    ("my-sanctions", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("sanction-appeal", "POST"): {"anonymous": LOGIN, "non_member": 404, "member": 404, "owner": 404},
    ("api-sanctions", "POST"): {**dict.fromkeys(BASE_ROLES, 403), "reviewer": 201},
    ("api-sanction-decide", "POST"): {**dict.fromkeys(BASE_ROLES, 403), "supervisor": 404},
    ("api-docs", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("set_language", "POST"): dict.fromkeys(BASE_ROLES, REDIRECT),
    ("healthz", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("identity-verify", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("identity-verify", "POST"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("agreements-accept", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("agreements-accept", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
    },
    ("profile", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    # R6.2: a nickname is a public profile field, so changing it is publishing: the form comes back with the
    # refusal for those who may not publish.
    ("profile", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
        "unverified": 200,
        "suspended": 200,
        "blacklisted": 200,
    },
    ("sessions", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("sessions", "POST"): {"anonymous": LOGIN, "non_member": REDIRECT, "member": REDIRECT, "owner": REDIRECT},
    ("account-delete", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("account-delete", "POST"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("legal-index", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("legal-document", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("legal-version", "GET"): dict.fromkeys(BASE_ROLES, 200),
    ("legal-diff", "GET"): dict.fromkeys(BASE_ROLES, 200),
    # Compliance pages: staff with the review permission only (none of these roles).
    # The review roles decide real-name reviews (the owner's is decided already: the page says so).
    ("review-queue", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("review-detail", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("review-detail", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("audit-search", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("audit-export", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("legal-holds", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("legal-holds", "POST"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("legal-hold-lift", "POST"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    # R7.3: every signed-in member sees their own credit; the compliance credit pages are for staff with
    # the adjustment permission only (none of these roles).
    ("my-credit", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("credit-search", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("group-requests", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 200,
    },
    ("invitations", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("group-manage-invite", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    ("invitation-respond", "POST"): {"anonymous": LOGIN, "non_member": 404, "member": 404, "owner": 404},
    ("api-invitations", "POST"): {"anonymous": 403, "non_member": 404, "member": 404, "owner": 404},
    ("api-my-invitations", "GET"): {"anonymous": 403, "non_member": 200, "member": 200, "owner": 200},
    ("api-invitation-respond", "POST"): {"anonymous": 403, "non_member": 404, "member": 404, "owner": 404},
    # The world's group is not waiting for review: 404 for the review roles.
    ("group-request-decide", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "reviewer": 404,
    },
    ("credit-user", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("credit-user", "POST"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("credit-adjustments", "GET"): {"anonymous": LOGIN, "non_member": 403, "member": 403, "owner": 403},
    ("credit-adjustment-decide", "POST"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
    },
    # The notification centre: each signed-in person reads and marks only their own notices (someone
    # else's id changes nothing and comes back to the list); the bell's count answers JSON, 403 signed out.
    ("notifications", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("notifications-read", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
    },
    ("notifications-read-all", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
    },
    ("notifications-count", "GET"): {"anonymous": 403, "non_member": 200, "member": 200, "owner": 200},
    ("notification-preferences", "GET"): {"anonymous": LOGIN, "non_member": 200, "member": 200, "owner": 200},
    ("notification-preferences", "POST"): {
        "anonymous": LOGIN,
        "non_member": REDIRECT,
        "member": REDIRECT,
        "owner": REDIRECT,
    },
    # R9.2: the owner's and admins' pages; members are refused (403), non-members see nothing (404).
    ("group-manage", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    ("group-manage-member", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    ("group-manage-requests", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    ("group-manage-requests", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    ("group-manage-settings", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    ("group-manage-settings", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    ("group-manage-announcement", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
    },
    ("group-manage-dissolve", "GET"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": 200,
        "admin": 403,  # dissolving is the owner's (R8.6)
    },
    ("group-manage-dissolve", "POST"): {
        "anonymous": LOGIN,
        "non_member": 404,
        "member": 403,
        "owner": REDIRECT,
        "admin": 403,
    },
    ("group-manage-log", "GET"): {"anonymous": LOGIN, "non_member": 404, "member": 403, "owner": 200},
    # reports: filing (R7.2): the filing document and its downloads, for supervisors only.
    ("filing", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    ("filing-markdown", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    ("filing-pdf", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    # reports: dashboard (issue 12): every requirement's live evidence, for supervisors only.
    ("compliance-dashboard", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    # reports: register (R11.4): the review roles see the register and download reports (the world has
    # none: report 1 is 404); only supervisors redeliver (the policy answers the reviewer before the lookup).
    ("report-register", "GET"): {**_STAFF_ONLY, "reviewer": 200},
    ("report-download", "GET"): {**_STAFF_ONLY, "reviewer": 404},
    ("report-redeliver", "POST"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 404},
    # reports: inspector access (R13.1). The inspector's pages are for inspector accounts under their own
    # grant (the finer cases, a revoked or ended grant, frozen evidence, are in tests/reports/
    # test_inspection.py). Supervisors grant.
    ("inspection-home", "GET"): {
        "anonymous": LOGIN,
        "non_member": 403,
        "member": 403,
        "owner": 403,
        "inspector_in": 200,  # the inspector's own grants (a platform administrator is staff: 403)
    },
    # Each inspector asks under their own grant: inspector_in's covers the world's group (its overview,
    # the group, its logs and its picture: 200), inspector_out's another group (its own overview and logs;
    # the world's group and its picture are outside: 404). Neither covers a user, a case (1: none) or the
    # statistics (the dashboard). Everyone else asks under inspector_in's grant, someone else's: 404.
    **{
        (name, method): {"anonymous": LOGIN, "non_member": 404, "member": 404, "owner": 404, **inspectors}
        for name, method, inspectors in (
            ("inspection-grant", "GET", {"inspector_in": 200, "inspector_out": 200}),
            ("inspection-group", "GET", {"inspector_in": 200, "inspector_out": 404}),
            ("inspection-user", "GET", {}),
            ("inspection-case", "GET", {}),
            ("inspection-case-export", "POST", {}),
            ("inspection-logs", "GET", {"inspector_in": 200, "inspector_out": 200}),
            ("inspection-file", "GET", {"inspector_in": 200, "inspector_out": 404}),
            ("inspection-dashboard", "GET", {}),
        )
    },
    ("inspection-grants", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    ("inspection-grant-new", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    ("inspection-grant-new", "POST"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    # inspector_in's grant: its page; revoking without a reason comes back to it with the question.
    ("inspection-grant-detail", "GET"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": 200},
    ("inspection-grant-revoke", "POST"): {**_STAFF_ONLY, "reviewer": 403, "supervisor": REDIRECT},
    # The Django admin is for platform staff only; of these roles only the compliance staff are staff (they
    # see the index and the models their permissions allow).
    ("admin:index", "GET"): {**dict.fromkeys(BASE_ROLES, LOGIN), "reviewer": 200},
    # Admin views added through get_urls must be wrapped in admin_view like the rest (R10.1 lexicon CSV).
    # The review roles are staff without the lexicon's permissions: refused (403).
    ("admin:screening_lexiconterm_import", "GET"): {**dict.fromkeys(BASE_ROLES, LOGIN), "reviewer": 403},
    ("admin:screening_lexiconterm_import", "POST"): {**dict.fromkeys(BASE_ROLES, LOGIN), "reviewer": 403},
    ("admin:screening_lexiconterm_export", "GET"): {**dict.fromkeys(BASE_ROLES, LOGIN), "reviewer": 403},
}

# R11.2: what a suspended account still reaches (the measure and its appeal, notices, rules, its own
# account); everything else, the socket included, is refused with the suspension.
OPEN_WHILE_SUSPENDED = {
    "logout",
    "login",
    "set_language",
    "healthz",
    "my-sanctions",
    "sanction-appeal",
    "notifications",
    "notifications-count",
    "notifications-read",
    "notifications-read-all",
    "notification-preferences",
    "legal-index",
    "legal-document",
    "legal-version",
    "legal-diff",
    "profile",
    "sessions",
    "account-delete",
    "my-credit",
    "my-reports",
}

# Differences a role has on many routes at once: (route name, method) -> outcome, before the fallback.
ROLE_OVERRIDES: dict[str, dict] = {
    # A superuser holds every permission, so every staff page answers them as the permission's holder
    # would (the supervisor's 403s below are permissions the supervisor role is not given). They are
    # still outside the world's group: its conversation stays a 404.
    "platform_admin": {
        ("audit-search", "GET"): 200,
        ("audit-export", "GET"): REDIRECT,  # without a period: back to the search, with the question
        ("legal-holds", "GET"): 200,
        ("legal-holds", "POST"): 200,  # the form again, with what is missing
        ("legal-hold-lift", "POST"): 404,  # hold 1 does not exist
        ("credit-search", "GET"): 200,
        ("credit-user", "GET"): 200,
        ("credit-user", "POST"): REDIRECT,
        ("credit-adjustments", "GET"): 200,
        ("credit-adjustment-decide", "POST"): 404,
        ("admin:screening_lexiconterm_import", "GET"): 200,
        ("admin:screening_lexiconterm_import", "POST"): 200,
        ("admin:screening_lexiconterm_export", "GET"): 200,
    },
    "suspended": {
        **{route: 403 for route in MATRIX if route[0] not in OPEN_WHILE_SUSPENDED},
        ("ws-chat", "connect"): "refused",
    },
}

# (socket route name, action) -> {role: outcome}
SOCKET_MATRIX = {
    ("ws-chat", "connect"): {"anonymous": "refused", "non_member": "open", "member": "open", "owner": "open"},
    ("ws-chat", "send"): {
        "anonymous": "refused",
        "non_member": "group_not_found",
        "member": "ack",
        "owner": "ack",
        "muted": "muted",  # R9.2: reads, posts nothing until the mute ends
        "blacklisted": "blacklisted",  # R11.3
    },
}


def _route_names(patterns, namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _route_names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern):
            yield f"{namespace}{entry.name}" if entry.name else f"{namespace}<unnamed {entry.pattern}>"


def test_every_route_has_rows():
    covered = {name for name, _ in MATRIX}
    missing = set()
    for name in _route_names(get_resolver().url_patterns):
        if name.startswith("admin:") and "admin:index" in covered:
            continue  # the admin is one door with one rule: staff only (checked through admin:index)
        if name not in covered:
            missing.add(name)
    assert missing == set(), f"routes without rows in the authorization table: {sorted(missing)}"
    socket_covered = {name for name, _ in SOCKET_MATRIX}
    assert {p.name for p in websocket_urlpatterns} <= socket_covered
    for row in [*MATRIX.values(), *SOCKET_MATRIX.values()]:
        assert set(BASE_ROLES) <= set(row) <= set(ROLES)


WORLD_MEMBER = "mx-member"  # the member a row's action names (a mute, a removal, a sanction)


def build_world() -> dict:
    """The group, its people and the roles around it; one function for the page and the socket tables."""
    owner = UserFactory(username="mx-owner")
    member = UserFactory(username=WORLD_MEMBER)
    non_member = UserFactory(username="mx-stranger")
    group = services.group_create(actor=actor_for(owner), name="矩阵")
    services.membership_join(actor=actor_for(member), group=group, invite_token=group.invite_token)
    admin = UserFactory(username="mx-admin")
    services.membership_join(actor=actor_for(admin), group=group, invite_token=group.invite_token)
    services.membership_appoint_admin(actor=actor_for(owner), group=group, member=admin)
    other_owner = UserFactory(username="mx-other-owner")
    other_group = services.group_create(actor=actor_for(other_owner), name="别的群")
    reviewer, supervisor = _staff_in("mx-reviewer", "reviewer"), _staff_in("mx-supervisor", "supervisor")
    services.message_send(actor=actor_for(member), group=group, body="矩阵消息", client_msg_id="mx-msg-1")
    services.message_send_file(
        actor=actor_for(member),
        group=group,
        data=_picture(),
        name="图.png",
        caption="",
        client_msg_id="mx-f-1",
    )
    singled_out = {name: UserFactory(username=f"mx-{name}") for name in ("muted", "suspended", "blacklisted")}
    for person in singled_out.values():
        services.membership_join(actor=actor_for(person), group=group, invite_token=group.invite_token)
    services.membership_mute(actor=actor_for(owner), group=group, member=singled_out["muted"], minutes=60)
    system = Actor.system()
    identity_services.account_restriction_add(
        actor=system, user=singled_out["suspended"], kind=RestrictionKind.SUSPENDED, reason_ref="矩阵"
    )
    identity_services.blacklist_add(actor=system, user=singled_out["blacklisted"], role="member")
    grantor = in_role(supervisor, "supervisor")
    inspectors, grants = {}, {}
    for name, scope in (("inspector_in", group), ("inspector_out", other_group)):
        inspectors[name] = in_role(UserFactory(username=f"mx-{name}"), "inspector")
        grants[name] = make_grant(grantor, inspectors[name], {"group": scope})
    group.refresh_from_db()
    return {
        "owner": owner,
        "member": member,
        "non_member": non_member,
        "admin": admin,
        "other_owner": other_owner,
        "reviewer": reviewer,
        "supervisor": supervisor,
        "unverified": UnverifiedUserFactory(username="mx-unverified"),
        **singled_out,
        **inspectors,
        "platform_admin": UserFactory(username="mx-root", is_staff=True, is_superuser=True),
        "anonymous": None,
        "group": group,
        "grants": grants,
    }


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker, attachment_root):
    """One world for every row of the page table: built once inside a transaction that each test's own
    (a savepoint) rolls back to, and rolled back at the end of the module. Built with the settings the
    tests' autouse fixtures give (``tests/conftest.py``), which are per test."""
    from django.core.cache import cache
    from django.test import override_settings

    from config.celery import app

    storages = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(attachment_root)},
        },
    }
    with (
        django_db_blocker.unblock(),
        override_settings(
            STORAGES=storages,
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            SMS_BACKEND="common.sms.LocmemBackend",
            IDENTITY_VERIFIER="fake",
        ),
    ):
        eager, app.conf.task_always_eager = app.conf.task_always_eager, True
        cache.clear()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            app.conf.task_always_eager = eager


@pytest.fixture
def world(shared_world, db):
    return shared_world


def _staff_in(username: str, role: str):
    """Compliance staff in the review role of that name (moderation's migration; made again if a
    transactional test's flush removed it)."""
    from tests.moderation.conftest import queue_role

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(queue_role(role))
    return user


def _picture() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((64, 48)).save(out, "PNG")
    return out.getvalue()


def _world_member_id(group) -> int:
    return group.memberships.get(user__username=WORLD_MEMBER).user_id


def _url(name, group, grant_id):
    from django.urls import reverse

    if name in ("attachment", "attachment-thumbnail", "attachment-raw"):  # the world's picture (message 2)
        return reverse(name, kwargs={"token": group.attachments.get().token})

    kwargs = {
        "group-chat": {"code": group.code},
        "group-invite": {"code": group.code},
        "group-leave": {"code": group.code},
        "group-join": {"token": group.invite_token},
        "api-messages": {"code": group.code},
        "legal-document": {"kind": "service-agreement"},
        "legal-version": {"kind": "service-agreement", "version": 1},
        "legal-diff": {"kind": "service-agreement", "old": 1, "new": 1},
        "review-detail": {"pk": group.created_by.verification.pk},
        "legal-hold-lift": {"pk": 1},
        "credit-user": {"user_id": group.created_by.pk},
        "credit-adjustment-decide": {"pk": 1},
        "group-request-decide": {"code": group.code},
        "emergency-measure-end": {"pk": 1},
        "invitation-respond": {"pk": 1},
        "group-manage-invite": {"code": group.code},
        "api-invitations": {"code": group.code},
        "api-invitation-respond": {"pk": 1},
        "group-info": {"code": group.code},
        "group-report": {"code": group.code},
        "case-detail": {"pk": 1},
        "compliance-queue-item": {"pk": 1},
        "api-review-decide": {"pk": 1},
        "api-review-release": {"pk": 1},
        "case-measures": {"pk": 1},
        "sanction-detail": {"pk": 1},
        "sanction-appeal": {"pk": 1},
        "api-sanction-decide": {"pk": 1},
        "api-members": {"code": group.code},
        "api-join-requests": {"code": group.code},
        "api-join-request-decide": {"code": group.code, "pk": 1},
        "api-group-settings": {"code": group.code},
        "api-group-announcement": {"code": group.code},
        "api-message-remove": {"code": group.code, "seq": 1},
        "api-group-pinned": {"code": group.code},
        "api-messages-search": {"code": group.code},
        "api-message-recall": {"code": group.code, "seq": 1},
        "api-group-read": {"code": group.code},
        "api-message-file": {"code": group.code},
        "group-search": {"code": group.code},
        "message-recall": {"code": group.code, "seq": 1},
        "report-download": {"pk": 1, "fmt": "json"},  # reports: register
        "report-redeliver": {"pk": 1},  # reports: register
        # reports: inspector access: grant 1 does not exist (nobody's)
        "inspection-grant": {"grant_id": grant_id},
        "inspection-group": {"grant_id": grant_id, "code": group.code},
        "inspection-user": {"grant_id": grant_id, "pk": group.created_by.pk},
        "inspection-case": {"grant_id": grant_id, "pk": 1},
        "inspection-case-export": {"grant_id": grant_id, "pk": 1},
        "inspection-logs": {"grant_id": grant_id},
        "inspection-file": {"grant_id": grant_id, "token": group.attachments.get().token},
        "inspection-dashboard": {"grant_id": grant_id},
        "inspection-grant-detail": {"pk": grant_id},
        "inspection-grant-revoke": {"pk": grant_id},
    }.get(name, {})
    if name.startswith("group-manage"):  # the owner's pages; a member's row acts on the world's member
        kwargs = {"code": group.code}
        if name == "group-manage-member":
            kwargs["user_id"] = _world_member_id(group)
        if name == "group-manage-message":  # the world's message 1, the member's
            kwargs["seq"] = 1
    if name.startswith("api-member-"):  # acting on the world's member
        kwargs = {"code": group.code, "user_id": _world_member_id(group)}
    return reverse(name, kwargs=kwargs)


BODIES = {
    "emergency-measures": lambda group: {
        "kind": "freeze_creation",
        "reason": "矩阵演练",
        "ends_at": f"{timezone.localtime() + timedelta(hours=1):%Y-%m-%dT%H:%M}",
    },
    "group-create": {"name": "新群", "description": ""},
    "group-chat": {"body": "你好", "client_msg_id": "mx-1"},
    "api-messages": {"body": "你好", "client_msg_id": "mx-1"},
    "api-message-file": {"caption": "图", "client_msg_id": "mx-file-2"},
    "set_language": {"language": "en", "next": "/"},
    "profile": {"nickname": "新昵称"},
    "sessions": {"session": "no-such-session"},
    "account-delete": {"password": "wrong"},
    "review-detail": {"action": "approve"},
    "credit-user": {"delta": "5", "reason": "矩阵"},
    "credit-adjustment-decide": {"action": "approve"},
    "group-request-decide": {"action": "approve"},
    "invitation-respond": {"action": "accept"},
    "group-manage-invite": {"who": "nobody-here"},
    "api-invitations": {"user_id": 999999},
    "api-invitation-respond": {"accept": True},
    "api-member-mute": {"minutes": 10, "reason": "矩阵"},
    "api-member-remove": {"reason": "矩阵"},
    "api-join-requests": {"message": "矩阵"},
    "api-join-request-decide": {"approve": True},
    "api-group-settings": {"slow_mode_seconds": 5},
    "api-group-announcement": {"text": "矩阵公告"},
    "api-message-remove": {"reason": "矩阵"},
    "api-group-pinned": {"seq": 1},
    "api-group-read": {"seq": 1},
    "api-messages-search": {"q": "矩阵"},
    "group-manage-message": {"action": "pin"},
    "notifications-read": {"scope": "personal", "id": "1"},
    "group-manage-member": {"action": "mute", "minutes": "10", "reason": "矩阵"},
    "group-manage-requests": {"bulk": "approve", "ids": ["1"]},
    "group-manage-settings": {"name": "矩阵", "join_mode": "link", "slow_mode_seconds": "0"},
    "group-manage-announcement": {"text": "矩阵公告"},
    "group-manage-dissolve": {"reason": "矩阵", "confirm_name": "矩阵"},
    "notification-preferences": {"in_app_identity.verification_decided": "on"},
    "group-report": {"category": "CONDUCT_FRAUD_SPAM", "description": "矩阵"},
    "case-detail": {"outcome": "矩阵"},
    "compliance-queue-item": {"action": "claim"},
    "compliance-queue-bulk": {"items": ["1"]},
    "api-review-decide": {"decision": "dismiss", "note": "矩阵"},
    "case-measures": {"kind": "user_mute", "target": "subject", "category": "ILL_OTHER"},
    "sanction-detail": {"action": "approve"},
    "sanction-appeal": {"text": "矩阵"},
    "api-sanction-decide": {"approve": True},
    # A body that names the world's member is built from it.
    "api-sanctions": lambda group: {
        "kind": "user_mute",
        "category": "ILL_OTHER",
        "user_id": _world_member_id(group),
    },
    # A body that names the world's group is built from it (see test_route_outcome_per_role).
    "api-complaints": lambda group: {"group": group.code, "message_seq": 1, "category": "CONDUCT_FRAUD_SPAM"},
}


MULTIPART = {"api-message-file"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method"), list(MATRIX))
def test_route_outcome_per_role(client, world, name, method, role):
    user = world[role]
    if user is not None:
        client.force_login(user)
    # An inspector asks under their own grant; everyone else under inspector_in's (someone else's).
    grant = world["grants"].get(role, world["grants"]["inspector_in"])
    url = _url(name, world["group"], grant.pk)
    body = BODIES.get(name, {})
    if callable(body):
        body = body(world["group"])
    if method == "GET":
        response = client.get(url, body)
    elif name in MULTIPART:
        response = client.post(url, {**body, "file": SimpleUploadedFile("图.png", _picture())})
    elif name.startswith("api-"):
        response = getattr(client, method.lower())(url, body, content_type="application/json")
    else:
        response = client.post(url, body)
    expected = expected_for(MATRIX[(name, method)], role, (name, method))
    if expected == LOGIN:
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    elif expected == REDIRECT:
        assert response.status_code == 302
        assert "/login/" not in response["Location"] or name == "logout"
    else:
        assert response.status_code == expected, f"{response.status_code} {getattr(response, 'url', '')}"
