"""R13.2: the audit chain, the network-log digests, their export, retention and legal holds."""

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from audit import services, verify
from audit.models import AuditEvent, ChainCheck, LegalHold, LogDigest, NetworkLog, RetentionRun
from common.actors import Actor, Door
from common.policies import PolicyDenied
from tests.conftest import actor_for
from tests.factories import UserFactory

SYSTEM = Actor.system(door=Door.TASK)


_capture = {}


@pytest.fixture(autouse=True)
def _export_path(settings, tmp_path, django_capture_on_commit_callbacks):
    settings.AUDIT_DIGEST_EXPORT_PATH = str(tmp_path / "digests.jsonl")
    _capture["fixture"] = django_capture_on_commit_callbacks


def _seal():
    """Seal as the job does; the export is written after commit, so run that callback here."""
    with _capture["fixture"](execute=True):
        return services.network_log_seal(actor=SYSTEM)


def _events(n=5):
    for i in range(n):
        services.audit_record(actor=SYSTEM, event_type="test.event", data={"i": i, "名": "值"})


def _tamper(sql, params=()):
    """Change rows behind the services' back, as an intruder with database access would."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a superuser can switch triggers off; the verifier still sees
            cursor.execute("SET LOCAL session_replication_role = 'replica'")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":  # the test's own transaction outlives this savepoint
            cursor.execute("SET LOCAL session_replication_role = 'origin'")


def _problems():
    report = verify.verify_all()
    return report.ok, " ".join(report.problems)


def test_chain_r13_2_is_intact_after_appends(db):
    _events(5)
    report = verify.verify_all()
    assert report.ok and report.checked_events >= 5
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE audit_auditevent SET data = '{\"i\": 99}' WHERE seq = 3", "#3: content does not match"),
        ("DELETE FROM audit_auditevent WHERE seq = 3", "#3 is missing"),
        ("UPDATE audit_auditevent SET event_type = 'forged' WHERE seq = 2", "#2: content does not match"),
        ("DELETE FROM audit_auditevent WHERE seq <= 2", "does not start at #1"),
    ],
)
def test_altered_or_deleted_events_r13_2_are_named(db, sql, expected):
    _events(5)
    _tamper(sql)
    ok, problems = _problems()
    assert not ok and expected in problems


def test_reordered_events_r13_2_are_detected(db):
    _events(5)
    rows = {r.seq: r for r in AuditEvent.objects.filter(seq__in=[2, 3])}
    _tamper("UPDATE audit_auditevent SET seq = -1 WHERE seq = 2")
    _tamper("UPDATE audit_auditevent SET seq = 2 WHERE seq = 3")
    _tamper("UPDATE audit_auditevent SET seq = 3 WHERE seq = -1")
    assert rows
    ok, problems = _problems()
    assert not ok and "#2" in problems


def test_truncated_tail_r13_2_is_caught_by_the_exported_head(db, django_capture_on_commit_callbacks):
    _events(3)
    NetworkLog.objects.create(occurred_at=timezone.now() - timedelta(minutes=5), kind="http", path="/")
    with django_capture_on_commit_callbacks(execute=True):  # the export is written after commit
        services.network_log_seal(actor=SYSTEM)
    assert verify.verify_all().ok
    last = AuditEvent.objects.order_by("-seq").first().seq
    _tamper("DELETE FROM audit_auditevent WHERE seq >= %s", [last - 1])
    _tamper("DELETE FROM audit_logdigest")
    ok, problems = _problems()
    assert not ok and ("gone" in problems or "no longer holds" in problems)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET event_type = 'x'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_trigger_r13_2_refuses_changes_outside_retention(db, sql):
    _events(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_truncate")
        cursor.execute(sql)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE audit_auditevent SET event_type = 'x' WHERE seq = 1", []),
        ("DELETE FROM audit_auditevent WHERE seq = 1", []),  # young: inside the floor
        ("TRUNCATE audit_auditevent", []),
    ],
)
def test_trigger_r13_2_refuses_even_with_the_retention_switch(db, sql, params):
    """A session that sets the switch (as any session can) still cannot rewrite or remove recent rows."""
    _events(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_truncate")
        cursor.execute("SET LOCAL qunzu.retention = 'on'")
        cursor.execute(sql, params)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_r13_2_keep_one_valid_chain():
    barrier = threading.Barrier(2)
    errors = []

    def write(n):
        try:
            barrier.wait()
            for i in range(40):
                services.audit_record(actor=SYSTEM, event_type="test.concurrent", data={"writer": n, "i": i})
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify.verify_all()
    assert report.ok, report.problems
    assert AuditEvent.objects.filter(event_type="test.concurrent").count() == 80


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("workers", [2, 3])
def test_parallel_verification_checks_the_links_between_ranges(settings, workers):
    settings.AUDIT_VERIFY_WORKERS = workers
    _events(30)
    assert verify.verify_all().ok
    middle = AuditEvent.objects.order_by("seq")[14]
    _tamper("UPDATE audit_auditevent SET prev_hash = 'x' WHERE seq = %s", [middle.seq])
    ok, problems = _problems()
    assert not ok and f"#{middle.seq}" in problems


def _logs(n, age=timedelta(minutes=5), **fields):
    when = timezone.now() - age
    NetworkLog.objects.bulk_create(
        [NetworkLog(occurred_at=when, kind="http", path=f"/p/{i}", **fields) for i in range(n)]
    )


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        (
            "UPDATE audit_networklog SET ip = '10.9.9.9' WHERE id = (SELECT min(id) FROM audit_networklog)",
            "altered",
        ),
        ("DELETE FROM audit_networklog WHERE id = (SELECT max(id) FROM audit_networklog)", "missing"),
    ],
)
def test_network_log_digests_r13_2_catch_altered_and_missing_rows(db, tamper, expected):
    _logs(10)
    digest = _seal()
    assert digest.row_count == 10 and verify.verify_all().ok
    _tamper(tamper)
    ok, problems = _problems()
    assert not ok and expected in problems


def test_rows_newer_than_the_grace_period_wait_for_the_next_seal(db):
    _logs(3)
    _logs(2, age=timedelta(seconds=0))
    assert _seal().row_count == 3


def test_rewriting_the_whole_digest_table_is_caught_by_the_signed_export(
    db, settings, django_capture_on_commit_callbacks
):
    _logs(4)
    with django_capture_on_commit_callbacks(execute=True):
        services.network_log_seal(actor=SYSTEM)
    _tamper("UPDATE audit_networklog SET path = '/forged'")
    from audit import chain

    rows = list(NetworkLog.objects.order_by("id").values(*chain.LOG_FIELDS))
    digest = LogDigest.objects.get()
    fields = {
        "first_id": digest.first_id,
        "last_id": digest.last_id,
        "row_count": 4,
        "rows_hash": chain.rows_hash(rows),
        "audit_seq": digest.audit_seq,
        "audit_hash": digest.audit_hash,
        "prev_hash": "",
    }
    LogDigest.objects.filter(pk=digest.pk).update(
        rows_hash=fields["rows_hash"], hash=chain.digest_hash(**fields)
    )
    ok, problems = _problems()
    assert not ok and "export" in problems
    line = json.loads(Path(settings.AUDIT_DIGEST_EXPORT_PATH).read_text().splitlines()[0])
    assert line["signature"] and line["digest"]["last_id"] == digest.last_id


def test_retention_floor_r13_2_cannot_be_configured_away(settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "network_logs": 30}
    errors = [e for e in run_checks() if e.id == "audit.E001"]
    assert errors and "184" in errors[0].msg
    assert services.retention_days("network_logs") == 184  # six calendar months can span 184 days


def test_retention_purge_r13_2_keeps_the_young_and_the_held(db, settings):
    settings.RETENTION_DAYS = {**settings.RETENTION_DAYS, "network_logs": 30}  # below the floor: 184 applies
    held_user = UserFactory()
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="export_auditevent"))
    staff = type(staff).objects.get(pk=staff.pk)
    _logs(5, age=timedelta(days=200))
    _logs(2, age=timedelta(days=200), user_id=held_user.pk)
    _logs(3, age=timedelta(days=100))  # past the configured 30 days, inside the 180-day floor
    services.legal_hold_set(
        actor=actor_for(staff), target_type="user", target_id=str(held_user.pk), reason="案件 1"
    )
    run = services.retention_purge(actor=SYSTEM, record_class="network_logs", batch_size=2)
    assert run.removed == 5
    assert NetworkLog.objects.filter(user_id=held_user.pk).count() == 2
    assert NetworkLog.objects.filter(occurred_at__gt=timezone.now() - timedelta(days=180)).count() >= 3
    again = services.retention_purge(actor=SYSTEM, record_class="network_logs")  # rerunnable
    assert again.removed == 0


def test_audit_purge_removes_only_an_old_prefix_and_the_chain_still_verifies(db):
    _events(4)
    old = timezone.now() - timedelta(days=4 * 365)
    _tamper("UPDATE audit_auditevent SET occurred_at = %s WHERE seq <= 3", [old])
    _reseal()  # as if they had been written then (the test's time travel)
    assert verify.verify_all().ok
    run = services.retention_purge(actor=SYSTEM, record_class="audit_events")
    assert run.removed == 3
    assert AuditEvent.objects.order_by("seq").first().seq == 4
    assert verify.verify_all().ok


def _reseal():
    """Recompute every hash in order, the way the chain was built (SQL on PostgreSQL, Python elsewhere)."""
    from audit import chain

    if connection.vendor == "postgresql":
        _tamper(f"""
            DO $$ DECLARE r audit_auditevent; prev text := ''; BEGIN
              FOR r IN SELECT * FROM audit_auditevent ORDER BY seq LOOP
                r.prev_hash := prev;
                prev := {chain.sql_event_digest("r")};
                UPDATE audit_auditevent SET prev_hash = r.prev_hash, hash = prev WHERE id = r.id;
              END LOOP; END $$;""")
        return
    prev = ""
    for event in AuditEvent.objects.order_by("seq"):
        row = {f: getattr(event, f) for f in chain.EVENT_FIELDS}
        row["prev_hash"] = prev
        prev = chain.event_hash(row)
        _tamper(
            "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s",
            [row["prev_hash"], prev, event.seq],
        )


def test_legal_holds_need_compliance_staff_and_a_reason(db):
    member = UserFactory()
    with pytest.raises(PolicyDenied):
        services.legal_hold_set(actor=actor_for(member), target_type="user", target_id="1", reason="x")
    with pytest.raises(PolicyDenied) as info:
        services.legal_hold_set(actor=SYSTEM, target_type="user", target_id="1", reason=" ")
    assert info.value.code == "reason_required"
    assert not LegalHold.objects.exists()


def test_seal_takes_a_contiguous_run_of_ids_and_leaves_a_young_row_for_later(db):
    old = timezone.now() - timedelta(minutes=5)
    first = NetworkLog.objects.create(occurred_at=old, kind="http", path="/a")
    NetworkLog.objects.create(occurred_at=timezone.now(), kind="http", path="/young")
    NetworkLog.objects.create(occurred_at=old, kind="http", path="/b")  # older, but after the young id
    digest = _seal()
    assert (digest.first_id, digest.last_id, digest.row_count) == (first.pk, first.pk, 1)
    NetworkLog.objects.filter(path="/young").update(occurred_at=old)
    _seal()
    assert verify.verify_all().ok


@pytest.mark.django_db(transaction=True)
def test_deleting_the_row_at_a_range_boundary_is_caught(settings):
    settings.AUDIT_VERIFY_WORKERS = 2
    _events(30)
    low = AuditEvent.objects.order_by("seq").first().seq
    high = AuditEvent.objects.order_by("-seq").first().seq
    boundary = low + (high - low) // 2 + 1 - 1  # the overlap row of the second range
    _tamper("DELETE FROM audit_auditevent WHERE seq = %s", [boundary])
    ok, problems = _problems()
    assert not ok and f"#{boundary} is missing" in problems


def test_missing_digest_export_is_reported(db, settings, django_capture_on_commit_callbacks):
    _logs(2)
    with django_capture_on_commit_callbacks(execute=True):
        services.network_log_seal(actor=SYSTEM)
    Path(settings.AUDIT_DIGEST_EXPORT_PATH).unlink()
    ok, problems = _problems()
    assert not ok and "missing" in problems


def _age_events(through_seq, days=4 * 365):
    _tamper(
        "UPDATE audit_auditevent SET occurred_at = %s WHERE seq <= %s",
        [timezone.now() - timedelta(days=days), through_seq],
    )
    _reseal()


def _export_lines(settings):
    return Path(settings.AUDIT_DIGEST_EXPORT_PATH).read_text().splitlines()


def test_purge_r13_2_signs_its_anchor_and_a_forged_anchor_excuses_nothing(db, settings):
    _events(6)
    _age_events(3)
    services.retention_purge(actor=SYSTEM, record_class="audit_events")
    anchors = [json.loads(line) for line in _export_lines(settings) if '"anchor"' in line]
    assert anchors and anchors[0]["anchor"]["seq"] == 4 and anchors[0]["signature"]
    assert verify.verify_all().ok
    # An intruder removes two more rows and records a matching anchor in the database: not signed.
    _tamper("DELETE FROM audit_auditevent WHERE seq <= 5")
    RetentionRun.objects.create(
        record_class="audit_events", cutoff=timezone.now(), chain_anchor_seq=6, chain_anchor_prev_hash="x"
    )
    ok, problems = _problems()
    assert not ok and "signed purge anchor #4" in problems


def test_removing_the_signed_anchor_from_the_export_r13_2_is_detected(db, settings):
    _events(5)
    _age_events(2)
    services.retention_purge(actor=SYSTEM, record_class="audit_events")
    path = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    path.write_text("".join(line + "\n" for line in _export_lines(settings) if '"anchor"' not in line))
    ok, problems = _problems()
    assert not ok and "does not start at #1" in problems


def test_interrupted_purge_r13_2_still_verifies(db, settings):
    """Batches go in order, so an interrupted purge leaves the chain starting below the signed anchor."""
    _events(6)
    _age_events(4)
    services.export.append(
        "anchor", {"class": "audit_events", "seq": 5, "prev_hash": "", "at": timezone.now().isoformat()}
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL qunzu.retention = 'on'")  # as the job does, past the floor
        cursor.execute("DELETE FROM audit_auditevent WHERE seq <= 2")
    assert verify.verify_all().ok


def test_tampered_signed_export_line_r13_2_is_named(db, settings):
    _logs(2)
    _seal()
    path = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    path.write_text(path.read_text().replace('"row_count": 2', '"row_count": 3'))
    ok, problems = _problems()
    assert not ok and "line 1: bad signature" in problems


def test_digest_left_unexported_or_cut_from_the_export_r13_2_is_reported(db, settings):
    _logs(2)
    digest = _seal()
    assert LogDigest.objects.get(pk=digest.pk).exported_at is not None
    Path(settings.AUDIT_DIGEST_EXPORT_PATH).write_text("")  # the file cut short
    ok, problems = _problems()
    assert not ok and "missing from the export" in problems
    LogDigest.objects.filter(pk=digest.pk).update(
        exported_at=None, created_at=timezone.now() - timedelta(hours=2)
    )
    ok, problems = _problems()
    assert not ok and "never exported" in problems


def test_failed_export_r13_2_is_retried_by_the_next_seal(db, settings, tmp_path):
    _logs(2)
    settings.AUDIT_DIGEST_EXPORT_PATH = str(tmp_path)  # a directory: the write fails
    with pytest.raises(OSError):
        _seal()
    assert LogDigest.objects.get().exported_at is None
    settings.AUDIT_DIGEST_EXPORT_PATH = str(tmp_path / "digests.jsonl")
    assert services.digests_export_pending() == 1
    assert verify.verify_all().ok


def test_verified_head_r13_2_is_exported_and_catches_a_rewrite_without_any_logs(db, settings):
    _events(4)
    assert verify.verify_and_record().ok
    assert any('"head"' in line for line in _export_lines(settings))
    _tamper("UPDATE audit_auditevent SET reason = 'rewritten' WHERE seq = 2")
    _reseal()  # the whole chain recomputed: only the signed head can tell
    ok, problems = _problems()
    assert not ok and "differs from the head exported on line 1" in problems
    assert ChainCheck.objects.filter(ok=True).exists()


def test_network_log_purge_r13_2_signs_its_anchor(db, settings):
    _logs(3, age=timedelta(days=200))
    _seal()
    _logs(2)
    _seal()
    services.retention_purge(actor=SYSTEM, record_class="network_logs")
    assert verify.verify_all().ok  # the first sealed range is excused by the signed anchor
    # Without the signed anchor, the same state is a deletion.
    path = Path(settings.AUDIT_DIGEST_EXPORT_PATH)
    path.write_text("".join(line + "\n" for line in _export_lines(settings) if '"anchor"' not in line))
    ok, problems = _problems()
    assert not ok and "row(s) missing" in problems
