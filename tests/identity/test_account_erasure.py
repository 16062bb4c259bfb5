"""R13.2 with PIPL art. 47: a deleted account keeps its records for the retention period, then its
personal information is erased, unless a legal hold covers it. Reached by the job, the task and the
command."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit import services as audit_services
from audit import tasks as audit_tasks
from audit.models import AuditEvent, LegalHold
from common.actors import Actor, Door
from identity import services
from identity.models import IdentityVerification, User
from tests.conftest import actor_for
from tests.factories import UserFactory

SYSTEM = Actor.system(door=Door.TASK)


@pytest.fixture(autouse=True)
def _export(settings, tmp_path):
    settings.AUDIT_DIGEST_EXPORT_PATH = str(tmp_path / "digests.jsonl")


def _deleted(days_ago):
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(phone=f"+86139{user.pk:08d}")
    services.account_delete(actor=actor_for(user), password="Correct-Horse-42")
    User.objects.filter(pk=user.pk).update(retention_locked_at=timezone.now() - timedelta(days=days_ago))
    return User.objects.get(pk=user.pk)


def _erased(user) -> bool:
    user.refresh_from_db()
    return user.erased_at is not None


def test_retention_locked_accounts_r13_2_are_erased_after_the_period_and_not_before(db, settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "retention_locked_accounts": 30}  # floor wins
    old, young = _deleted(200), _deleted(100)
    phone = old.phone
    run = audit_services.retention_purge(actor=SYSTEM, record_class="retention_locked_accounts")
    assert run.removed == 1
    assert _erased(old) and not _erased(young)
    assert old.phone is None and old.nickname == services.ERASED_NICKNAME and not old.has_usable_password()
    verification = IdentityVerification.objects.get(user=old)
    assert verification.real_name_enc == "" and verification.id_number_enc == "" and not verification.id_hash
    assert IdentityVerification.objects.get(user=young).id_number_enc  # still kept
    event = AuditEvent.objects.get(event_type="identity.account_erased")
    assert event.target_id == str(old.pk) and phone not in str(event.data)
    again = audit_services.retention_purge(actor=SYSTEM, record_class="retention_locked_accounts")
    assert again.removed == 0  # rerunnable


def test_legal_hold_r13_2_keeps_a_deleted_account_intact(db):
    held = _deleted(400)
    LegalHold.objects.create(target_type="user", target_id=str(held.pk), reason="案件", set_by=UserFactory())
    audit_services.retention_purge(actor=SYSTEM, record_class="retention_locked_accounts")
    assert not _erased(held) and held.phone


def test_the_daily_task_r13_2_includes_accounts(db):
    old = _deleted(200)
    removed = audit_tasks.retention_purge()
    assert removed["retention_locked_accounts"] == 1 and _erased(old)


def test_the_command_r13_2_purges_accounts_with_progress(db, capsys):
    old = _deleted(200)
    call_command("retention_purge", "retention_locked_accounts")
    assert _erased(old)
    assert "retention_locked_accounts: 1 removed" in capsys.readouterr().out
