"""R11.3 (security review finding 8): blacklisting an account that has no VERIFIED real-name verification.
Such an entry takes no ID-number hash from a number that was only typed (waiting for review, or rejected:
it may be someone else's); when the account later verifies, through whichever door, the entry takes the
verified identity, so that it follows the person to every other account and a new account verifying with
that identity is refused."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import policies as group_policies
from identity import selectors as identity_selectors
from identity import services as identity_services
from identity.models import BlacklistEntry, IdentityVerification, VerificationStatus
from moderation import services as moderation_services
from moderation.models import ReviewItem, ReviewKind
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, valid_id_number
from tests.moderation.conftest import SANCTION_PERMISSIONS, _compliance_user, queue_staff

NUMBER = valid_id_number(731)
REFUSED_ON_PAGE = "该身份已被列入平台黑名单"


@pytest.fixture
def reviewer(db):
    return _compliance_user("reviewer1", "审核员甲", *SANCTION_PERMISSIONS)


@pytest.fixture
def supervisor(db):
    return _compliance_user("supervisor1", "主管", *SANCTION_PERMISSIONS, "approve_sanction")


@pytest.fixture
def checker(db):
    """Compliance staff who decide real-name reviews (the "reviewer" role of the review queue)."""
    return queue_staff("checker", "实名审核员", "reviewer")


def _account(username: str):
    """A signed-up account that has accepted the agreements and not verified its identity."""
    user = UnverifiedUserFactory(username=username)
    identity_services.agreement_accept(actor=actor_for(user))
    return user


def _submit(user, *, real_name="张三", number=NUMBER):
    return identity_services.verification_submit(
        actor=actor_for(user), real_name=real_name, id_number=number, consent=True
    )


def _blacklist_by_api(client, reviewer, supervisor, user) -> BlacklistEntry:
    """Through the doors staff use: a reviewer decides it on the API, a supervisor approves it there."""
    client.force_login(reviewer)
    response = client.post(
        reverse("api-sanctions"),
        {
            "kind": "blacklist",
            "category": "CONDUCT_FRAUD_SPAM",
            "user_id": user.pk,
            "blacklist_role": "member",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    client.force_login(supervisor)
    decided = client.post(
        reverse("api-sanction-decide", args=[response.json()["id"]]),
        {"approve": True},
        content_type="application/json",
    )
    assert decided.status_code == 200 and decided.json()["status"] == "active", decided.content
    client.logout()
    return BlacklistEntry.objects.get(user=user)


def _blacklist(reviewer, supervisor, user) -> BlacklistEntry:
    sanction = moderation_services.sanction_issue(
        actor=actor_for(reviewer),
        kind="blacklist",
        category="CONDUCT_FRAUD_SPAM",
        target_user=user,
        blacklist_role="creator",
    )
    moderation_services.sanction_decide(actor=actor_for(supervisor), sanction=sanction, approve=True)
    return BlacklistEntry.objects.get(user=user)


def _verify_on_page(client, user, number=NUMBER):
    client.force_login(user)
    response = client.post(
        reverse("identity-verify"), {"real_name": "张三", "id_number": number, "consent": "on"}
    )
    client.logout()
    return response


@pytest.mark.parametrize("typed", ["waiting", "rejected"])
def test_r11_3_blacklisting_takes_no_hash_from_a_number_that_was_not_verified(
    client, reviewer, supervisor, settings, typed
):
    settings.IDENTITY_VERIFIER = "staff" if typed == "waiting" else "fake"
    listed = _account("typist")
    verification = _submit(listed, real_name="张三" if typed == "waiting" else "拒绝者")
    assert verification.status == (
        VerificationStatus.PENDING if typed == "waiting" else VerificationStatus.REJECTED
    )
    entry = _blacklist_by_api(client, reviewer, supervisor, listed)
    assert entry.id_hash == ""
    assert identity_selectors.blacklist_active(listed) is not None  # the account itself is listed
    settings.IDENTITY_VERIFIER = "fake"
    owner_of_the_number = _account("realowner")  # whose number it may really be
    assert _submit(owner_of_the_number).status == VerificationStatus.VERIFIED
    assert identity_selectors.blacklist_active(owner_of_the_number) is None


def test_r11_3_the_entry_takes_the_identity_when_the_account_verifies_on_the_page(
    client, reviewer, supervisor
):
    listed = _account("unverified")
    entry = _blacklist_by_api(client, reviewer, supervisor, listed)
    assert entry.id_hash == ""
    response = _verify_on_page(client, listed)
    assert response.status_code in (200, 302)
    verification = IdentityVerification.objects.get(user=listed)
    assert verification.status == VerificationStatus.VERIFIED
    entry.refresh_from_db()
    assert entry.id_hash == verification.id_hash != ""
    recorded = AuditEvent.objects.get(event_type="identity.blacklist_identity_recorded")
    assert recorded.data["entries"] == [entry.pk]
    newcomer = _account("newcomer")
    response = _verify_on_page(client, newcomer)
    assert response.status_code == 200 and REFUSED_ON_PAGE in response.content.decode()
    assert identity_selectors.verification_status(newcomer) == VerificationStatus.UNVERIFIED
    with pytest.raises(PolicyDenied) as refused:
        _submit(newcomer)
    assert refused.value.code == "blacklisted"


def test_r11_3_the_identity_reaches_accounts_verified_before(reviewer, supervisor, settings):
    settings.IDENTITY_ACCOUNTS_PER_ID = 2
    earlier = _account("earlier")
    _submit(earlier)  # another account of the same person, verified before
    listed = _account("listed")
    _blacklist(reviewer, supervisor, listed)
    assert identity_selectors.blacklist_active(earlier) is None
    _submit(listed)
    assert identity_selectors.blacklist_active(earlier) is not None
    assert group_policies.can_create_group(earlier).code == "blacklisted"


def _approve_on_review_page(client, checker, verification):
    client.force_login(checker)
    response = client.post(
        reverse("review-detail", args=[verification.pk]), {"action": "approve", "note": ""}
    )
    assert response.status_code == 302


def _queue_item(checker, verification) -> ReviewItem:
    moderation_services.review_queue_sync(actor=actor_for(checker))
    return ReviewItem.objects.get(kind=ReviewKind.IDENTITY_REVIEW, object_id=verification.pk)


def _approve_on_queue_page(client, checker, verification):
    item = _queue_item(checker, verification)
    client.force_login(checker)
    response = client.post(
        reverse("compliance-queue-item", args=[item.pk]),
        {"action": "decide", "decision": "approve", "note": ""},
    )
    assert response.status_code == 302


def _approve_on_queue_api(client, checker, verification):
    item = _queue_item(checker, verification)
    client.force_login(checker)
    response = client.post(
        f"/api/review/items/{item.pk}/decide/", {"decision": "approve"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "approve",
    [_approve_on_review_page, _approve_on_queue_page, _approve_on_queue_api],
    ids=lambda f: f.__name__,
)
def test_r11_3_the_entry_takes_the_identity_when_staff_approve_the_verification(
    client, reviewer, supervisor, checker, settings, approve
):
    settings.IDENTITY_VERIFIER = "staff"
    settings.IDENTITY_ACCOUNTS_PER_ID = 2  # the second account is refused for the blacklist, not the limit
    listed = _account("waiting")
    verification = _submit(listed)  # waiting for a person when the account is blacklisted
    entry = _blacklist(reviewer, supervisor, listed)
    assert entry.id_hash == ""
    newcomer = _account("sameperson")
    waiting_too = _submit(newcomer)  # a second account waits with the same number
    approve(client, checker, verification)
    verification.refresh_from_db()
    entry.refresh_from_db()
    assert verification.status == VerificationStatus.VERIFIED
    assert entry.id_hash == verification.id_hash != ""
    with pytest.raises(PolicyDenied) as refused:
        identity_services.verification_decide(
            actor=actor_for(checker), verification=waiting_too, approve=True
        )
    assert refused.value.code == "blacklisted"
    third = _account("third")
    with pytest.raises(PolicyDenied) as refused:
        _submit(third)
    assert refused.value.code == "blacklisted"


def test_r11_3_an_ended_listing_does_not_take_the_identity(reviewer, supervisor, settings):
    settings.IDENTITY_ACCOUNTS_PER_ID = 2
    listed = _account("forgiven")
    entry = _blacklist(reviewer, supervisor, listed)
    identity_services.blacklist_lift(actor=actor_for(supervisor), entry=entry, reason="申诉成立")
    _submit(listed)
    entry.refresh_from_db()
    assert entry.id_hash == ""
    assert _submit(_account("other")).status == VerificationStatus.VERIFIED


def test_r11_3_an_identity_listed_while_another_account_verifies_is_refused_under_its_lock(
    reviewer, supervisor, monkeypatch
):
    """The race: a second account of the person passes the first check; before it takes the identity's
    lock, the listed account verifies with the same identity and its entry takes the hash. The second
    account is refused under the lock, and the refusal is audited."""
    listed = _account("listed")
    _blacklist(reviewer, supervisor, listed)
    newcomer = _account("newcomer")
    real_verifier = identity_services._verifier

    def listed_account_verifies_meanwhile():
        monkeypatch.setattr(identity_services, "_verifier", real_verifier)
        assert _submit(listed).status == VerificationStatus.VERIFIED
        return real_verifier()

    monkeypatch.setattr(identity_services, "_verifier", listed_account_verifies_meanwhile)
    with pytest.raises(PolicyDenied) as refused:
        _submit(newcomer)
    assert refused.value.code == "blacklisted"
    assert not IdentityVerification.objects.filter(user=newcomer, status=VerificationStatus.VERIFIED).exists()
    assert AuditEvent.objects.filter(
        event_type="identity.verification_refused_blacklisted", target_id=str(newcomer.pk)
    ).exists()
