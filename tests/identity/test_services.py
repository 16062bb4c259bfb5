"""Identity services: SMS codes, sign-up, verification, encryption, reveal, gate, restrictions (R5.3, R6)."""

import base64
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.selectors import audit_event_list
from common import crypto, sms
from common.actors import Actor, ActorKind, Door
from common.policies import PolicyDenied
from identity import policies, services
from identity.models import AgreementKind, IdentityVerification, RestrictionKind, SmsCode, VerificationStatus
from tests.conftest import actor_for
from tests.factories import UnverifiedUserFactory, UserFactory, valid_id_number

VISITOR = Actor(user=None, kind=ActorKind.MEMBER, door=Door.WEB, ip="203.0.113.9")


_capture = {}


@pytest.fixture(autouse=True)
def _send_on_commit(django_capture_on_commit_callbacks):
    _capture["fixture"] = django_capture_on_commit_callbacks
    yield


def send_code(*, actor, phone, purpose="signup"):
    """Texts go out after commit; inside a test's transaction, run that callback at once."""
    with _capture["fixture"](execute=True):
        return services.sms_code_send(actor=actor, phone=phone, purpose=purpose)


def last_code() -> str:
    return re.search(r"\d{6}", sms.outbox[-1]["text"]).group()


def register(phone="13912345678", **overrides):
    send_code(actor=VISITOR, phone=phone, purpose="signup")
    data = {
        "phone": phone,
        "sms_code": last_code(),
        "password": "Lanzhou-Noodles-9",
        "nickname": "阿明",
        "accept_agreements": True,
    } | overrides
    return services.user_register(actor=VISITOR, **data)


def test_register_r6_1_with_sms_code_stores_e164_and_accepts_agreements(db):
    user = register(phone="139 1234 5678")
    assert user.phone == "+8613912345678"
    assert sms.outbox[-1]["phone"] == "+8613912345678"
    assert policies.can_publish(user).code == "identity_unverified"  # accepted, not yet verified
    assert not SmsCode.objects.filter(code_hash__contains=last_code()).exists()  # only a keyed hash is kept


def test_register_wrong_code_is_refused_then_exhausted(db):
    send_code(actor=VISITOR, phone="13912345678", purpose="signup")
    wrong = "000000" if last_code() != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ValidationError) as info:
            services.user_register(
                actor=VISITOR,
                phone="13912345678",
                sms_code=wrong,
                password="Lanzhou-Noodles-9",
                nickname="阿明",
                accept_agreements=True,
            )
        assert info.value.code == "sms_code_wrong"
    with pytest.raises(ValidationError) as info:
        services.user_register(
            actor=VISITOR,
            phone="13912345678",
            sms_code=last_code(),
            password="Lanzhou-Noodles-9",
            nickname="阿明",
            accept_agreements=True,
        )
    assert info.value.code == "sms_code_exhausted"


def test_register_expired_code_is_refused(db):
    send_code(actor=VISITOR, phone="13912345678", purpose="signup")
    SmsCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError) as info:
        services.user_register(
            actor=VISITOR,
            phone="13912345678",
            sms_code=last_code(),
            password="Lanzhou-Noodles-9",
            nickname="阿明",
            accept_agreements=True,
        )
    assert info.value.code == "sms_code_expired"


def test_sms_flooding_is_limited_per_number_and_per_address(db, settings):
    send_code(actor=VISITOR, phone="13912345678", purpose="signup")
    with pytest.raises(PolicyDenied) as info:
        send_code(actor=VISITOR, phone="13912345678", purpose="signup")
    assert info.value.code == "sms_too_soon"
    settings.SMS_MAX_PER_IP_PER_HOUR = 3
    send_code(actor=VISITOR, phone="13912345679", purpose="signup")
    send_code(actor=VISITOR, phone="13912345670", purpose="signup")
    with pytest.raises(PolicyDenied) as info:
        send_code(actor=VISITOR, phone="13912345671", purpose="signup")
    assert info.value.code == "sms_ip_limit"


@pytest.mark.parametrize(
    ("phone", "code"), [("1440123456789", "phone_invalid"), ("01062345678", "phone_not_mobile")]
)
def test_sms_to_iot_or_landline_is_refused(db, phone, code):
    with pytest.raises(ValidationError) as info:
        send_code(actor=VISITOR, phone=phone, purpose="signup")
    assert info.value.code == code
    assert sms.outbox == []


def test_register_without_accepting_agreements_or_with_taken_phone_is_refused(db):
    with pytest.raises(ValidationError) as info:
        register(phone="13912340000", accept_agreements=False)
    assert info.value.code == "agreement_required"
    register(phone="13912345678")
    cache.clear()  # the one-minute gap between codes has passed
    with pytest.raises(ValidationError) as info:
        register(phone="13912345678")
    assert info.value.code == "phone_taken"


def test_verification_r6_3_is_encrypted_at_rest_and_masked(db):
    user = UnverifiedUserFactory()
    number = valid_id_number()
    verification = services.verification_submit(
        actor=actor_for(user), real_name="张三丰", id_number=number, consent=True
    )
    assert verification.status == VerificationStatus.VERIFIED
    assert verification.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert verification.real_name_masked == "张**"
    assert number not in verification.id_number_enc and "张三丰" not in verification.real_name_enc
    assert (
        crypto.decrypt(verification.id_number_enc, context=services._pi_context(services.ID_CONTEXT, user.pk))
        == number
    )
    with pytest.raises(crypto.DecryptionError):  # a value moved into another user's row does not decrypt
        crypto.decrypt(
            verification.id_number_enc, context=services._pi_context(services.ID_CONTEXT, user.pk + 1)
        )
    with pytest.raises(crypto.DecryptionError):  # a value moved into the other column does not decrypt
        crypto.decrypt(
            verification.id_number_enc, context=services._pi_context(services.NAME_CONTEXT, user.pk)
        )
    assert policies.can_publish(user).code == "agreement_pending"  # verified; the agreements come next
    services.agreement_accept(actor=actor_for(user))
    assert policies.can_publish(user).allowed


def test_verification_needs_separate_consent(db):
    user = UnverifiedUserFactory()
    with pytest.raises(ValidationError) as info:
        services.verification_submit(
            actor=actor_for(user), real_name="张三", id_number=valid_id_number(), consent=False
        )
    assert info.value.code == "consent_required"


def test_one_id_number_backs_at_most_the_configured_accounts(db, settings):
    number = valid_id_number()
    first, second = UnverifiedUserFactory(), UnverifiedUserFactory()
    services.verification_submit(actor=actor_for(first), real_name="李四", id_number=number, consent=True)
    with pytest.raises(ValidationError) as info:
        services.verification_submit(
            actor=actor_for(second), real_name="李四", id_number=number, consent=True
        )
    assert info.value.code == "id_limit"
    settings.IDENTITY_ACCOUNTS_PER_ID = 2
    assert (
        services.verification_submit(
            actor=actor_for(second), real_name="李四", id_number=number, consent=True
        ).status
        == VerificationStatus.VERIFIED
    )


def test_under_14_is_held_for_guardian_then_reviewed(db):
    child, reviewer = UnverifiedUserFactory(), _reviewer()
    birth = (timezone.localdate() - timedelta(days=365 * 10)).strftime("%Y%m%d")
    verification = services.verification_submit(
        actor=actor_for(child), real_name="小明", id_number=valid_id_number(birth=birth), consent=True
    )
    assert verification.status == VerificationStatus.GUARDIAN_REQUIRED
    assert policies.can_publish(child).code == "guardian_required"
    verification = services.verification_guardian_consent(
        actor=actor_for(reviewer), verification=verification, note="母亲到场签署同意书"
    )
    assert verification.status == VerificationStatus.PENDING
    services.verification_decide(actor=actor_for(reviewer), verification=verification, approve=True)
    services.agreement_accept(actor=actor_for(child))
    assert policies.can_publish(child).allowed


def _reviewer(reveal=False):
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    codenames = ["review_identityverification"] + (["reveal_identityverification"] if reveal else [])
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)


def test_staff_review_backend_waits_for_a_decision(db, settings):
    settings.IDENTITY_VERIFIER = "staff"
    user, reviewer = UnverifiedUserFactory(), _reviewer()
    verification = services.verification_submit(
        actor=actor_for(user), real_name="王五", id_number=valid_id_number(), consent=True
    )
    assert verification.status == VerificationStatus.PENDING
    assert policies.can_publish(user).code == "identity_pending"
    with pytest.raises(PolicyDenied):
        services.verification_decide(actor=actor_for(user), verification=verification, approve=True)
    services.verification_decide(
        actor=actor_for(reviewer), verification=verification, approve=False, note="不符"
    )
    verification.refresh_from_db()
    assert verification.status == VerificationStatus.REJECTED and verification.decided_by == reviewer


def test_result_only_backend_stores_no_name_or_number(db, settings):
    settings.IDENTITY_VERIFIER = "result_only"
    user = UnverifiedUserFactory()
    verification = services.verification_submit(
        actor=actor_for(user), real_name="赵六", id_number=valid_id_number(), consent=True
    )
    assert verification.status == VerificationStatus.VERIFIED and verification.result_only
    assert verification.id_number_enc == "" and verification.real_name_enc == ""
    with pytest.raises(PolicyDenied) as info:
        services.identity_reveal(
            actor=actor_for(_reviewer(reveal=True)), verification=verification, reason="案件 2026-1"
        )
    assert info.value.code == "nothing_stored"


def test_reveal_r6_3_needs_role_and_reason_and_is_audited(db):
    user = UnverifiedUserFactory()
    number = valid_id_number()
    verification = services.verification_submit(
        actor=actor_for(user), real_name="钱七", id_number=number, consent=True
    )
    with pytest.raises(PolicyDenied) as info:
        services.identity_reveal(actor=actor_for(_reviewer()), verification=verification, reason="想看看")
    assert info.value.code == "not_allowed"
    revealer = _reviewer(reveal=True)
    with pytest.raises(PolicyDenied) as info:
        services.identity_reveal(actor=actor_for(revealer), verification=verification, reason=" ")
    assert info.value.code == "reason_required"
    assert audit_event_list(event_type="identity.reveal_denied").count() == 2
    values = services.identity_reveal(
        actor=actor_for(revealer), verification=verification, reason="公安协查 2026-031"
    )
    assert values == {"real_name": "钱七", "id_number": number}
    event = audit_event_list(event_type="identity.pi_revealed").get()
    assert event.actor == revealer and event.data["reason"] == "公安协查 2026-031"
    assert number not in str(event.data)


def test_key_rotation_r6_3_reencrypts_every_value(db, settings):
    user = UnverifiedUserFactory()
    number = valid_id_number()
    services.verification_submit(actor=actor_for(user), real_name="孙八", id_number=number, consent=True)
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = "k2:" + base64.urlsafe_b64encode(b"n" * 32).decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert services.field_keys_rotate(actor=Actor.system(door=Door.CLI)) == 1
    verification = IdentityVerification.objects.get(user=user)
    assert crypto.key_id_of(verification.id_number_enc) == "k2"
    settings.FIELD_ENCRYPTION_KEYS = [new]  # the old key can now be retired
    assert (
        crypto.decrypt(verification.id_number_enc, context=services._pi_context(services.ID_CONTEXT, user.pk))
        == number
    )
    assert (
        crypto.decrypt(
            verification.real_name_enc, context=services._pi_context(services.NAME_CONTEXT, user.pk)
        )
        == "孙八"
    )


def test_new_agreement_version_r5_3_blocks_publishing_until_accepted(db, django_user_model):
    user = UserFactory()
    admin = django_user_model.objects.create_superuser("root", password="x-Long-Pass-1", nickname="管理员")
    assert policies.can_publish(user).allowed
    services.agreement_publish(
        actor=actor_for(admin), kind=AgreementKind.CONVENTION, title="平台公约", body="第二版内容"
    )
    decision = policies.can_publish(user)
    assert decision.code == "agreement_pending" and decision.action_url == "/accounts/agreements/"
    services.agreement_accept(actor=actor_for(user))
    assert policies.can_publish(user).allowed
    with pytest.raises(PolicyDenied):
        services.agreement_publish(actor=actor_for(user), kind=AgreementKind.CONVENTION, title="x", body="y")


def test_posting_restriction_r11_2_bars_until_it_expires(db):
    user = UserFactory()
    staff = UserFactory(is_staff=True)
    restriction = services.account_restriction_add(
        actor=actor_for(staff),
        user=user,
        kind=RestrictionKind.POST,
        until=timezone.now() + timedelta(hours=1),
        reason_ref="case-1",
    )
    assert policies.can_publish(user).code == "posting_suspended"
    type(restriction).objects.filter(pk=restriction.pk).update(until=timezone.now() - timedelta(seconds=1))
    assert policies.can_publish(user).allowed
    with pytest.raises(PolicyDenied):
        services.account_restriction_add(actor=actor_for(user), user=staff, kind=RestrictionKind.POST)


def test_account_delete_locks_the_account_and_keeps_records(db):
    user = UserFactory()
    with pytest.raises(ValidationError):
        services.account_delete(actor=actor_for(user), password="wrong")
    services.account_delete(actor=actor_for(user), password="Correct-Horse-42")
    user.refresh_from_db()
    assert not user.is_active and user.retention_locked_at is not None
    assert IdentityVerification.objects.filter(user=user).exists()
    assert policies.can_publish(user).code == "account_inactive"


def test_direct_account_creation_is_for_the_platform_only(db):
    member = UserFactory()
    with pytest.raises(PolicyDenied):
        services.user_create(actor=actor_for(member), username="x", password="p", nickname="x")
    created = services.user_create(
        actor=Actor.system(door=Door.CLI), username="ops", password="p-Long-1", nickname="运维"
    )
    assert created.pk


def test_id_number_in_other_scripts_digits_is_refused_r6_1(db):
    from identity.idnumber import parse_id_number

    arabic_indic = "".join(chr(0x0660 + int(ch)) if ch.isdigit() else ch for ch in "11010519491231002X")
    with pytest.raises(ValidationError) as info:
        parse_id_number(arabic_indic)
    assert info.value.code == "id_format"


def test_pending_claim_does_not_block_the_owner_and_approval_rechecks_the_limit(db, settings):
    number = valid_id_number()
    squatter, owner, reviewer = UnverifiedUserFactory(), UnverifiedUserFactory(), _reviewer()
    settings.IDENTITY_VERIFIER = "staff"
    pending = services.verification_submit(
        actor=actor_for(squatter), real_name="郑一", id_number=number, consent=True
    )
    settings.IDENTITY_VERIFIER = "fake"
    assert (
        services.verification_submit(
            actor=actor_for(owner), real_name="郑一", id_number=number, consent=True
        ).status
        == VerificationStatus.VERIFIED
    )
    with pytest.raises(ValidationError) as info:
        services.verification_decide(actor=actor_for(reviewer), verification=pending, approve=True)
    assert info.value.code == "id_limit"


def test_nobody_reviews_their_own_verification(db, settings):
    settings.IDENTITY_VERIFIER = "staff"
    reviewer = _reviewer()
    IdentityVerification.objects.filter(user=reviewer).delete()
    own = services.verification_submit(
        actor=actor_for(reviewer), real_name="冯二", id_number=valid_id_number(), consent=True
    )
    with pytest.raises(PolicyDenied) as info:
        services.verification_decide(actor=actor_for(reviewer), verification=own, approve=True)
    assert info.value.code == "own_verification"


def test_verification_attempts_are_limited_per_day(db, settings):
    settings.IDENTITY_SUBMISSIONS_PER_DAY = 2
    user = UnverifiedUserFactory()
    for _ in range(2):
        verification = services.verification_submit(
            actor=actor_for(user), real_name="拒绝者", id_number=valid_id_number(), consent=True
        )
        assert verification.status == VerificationStatus.REJECTED
    with pytest.raises(PolicyDenied) as info:
        services.verification_submit(
            actor=actor_for(user), real_name="拒绝者", id_number=valid_id_number(), consent=True
        )
    assert info.value.code == "verification_attempts"


def test_child_under_14_cannot_join_groups_before_guardian_consent(db):
    from groups import services as group_services

    owner, child = UserFactory(), UnverifiedUserFactory()
    birth = (timezone.localdate() - timedelta(days=365 * 10)).strftime("%Y%m%d")
    services.verification_submit(
        actor=actor_for(child), real_name="小红", id_number=valid_id_number(birth=birth), consent=True
    )
    group = group_services.group_create(actor=actor_for(owner), name="群")
    with pytest.raises(PolicyDenied) as info:
        group_services.membership_join(actor=actor_for(child), group=group, invite_token=group.invite_token)
    assert info.value.code == "guardian_required"


def test_agreement_changed_while_reading_is_not_accepted(db, django_user_model):
    user = UnverifiedUserFactory()
    shown = [d.pk for d in policies.selectors.agreements_owed(user)]
    admin = django_user_model.objects.create_superuser("root", password="x-Long-Pass-1", nickname="管理员")
    services.agreement_publish(
        actor=actor_for(admin), kind=AgreementKind.SERVICE_AGREEMENT, title="服务协议", body="新版"
    )
    with pytest.raises(PolicyDenied) as info:
        services.agreement_accept(actor=actor_for(user), shown=shown)
    assert info.value.code == "agreement_changed"


@pytest.mark.parametrize("nickname", ["abc\u202e", "a\u200bb", "x\x07", "\ud800"])
def test_nickname_with_invisible_or_control_characters_is_refused(db, nickname):
    with pytest.raises(ValidationError) as info:
        services.profile_update(actor=actor_for(UserFactory()), nickname=nickname)
    assert info.value.code == "nickname_invalid"


def test_client_ip_keeps_only_valid_addresses():
    from common.actors import client_ip

    assert client_ip({"REMOTE_ADDR": "203.0.113.5"}) == "203.0.113.5"
    assert client_ip({"REMOTE_ADDR": "x"}) is None
    assert client_ip({"REMOTE_ADDR": "::ffff:1.2.3.4"}) == "::ffff:102:304"
