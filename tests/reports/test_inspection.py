"""Inspector access (R13.1, R12.2): a supervisor grants an inspector account read-only access for a purpose,
a window and a scope; the inspector sees what is in scope and nothing else (404), every page is audited,
the grant ends by itself, and a case's evidence package can be checked without the platform."""

import hashlib
import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from common.policies import PolicyDenied
from groups import services as group_services
from moderation import services as moderation_services
from moderation.selectors import ReportTarget
from reports import services, signing
from reports.models import EvidenceExport, InspectionGrant
from tests.conftest import actor_for
from tests.factories import UserFactory

ROLE_PERMISSIONS = {"inspector": ["inspect"], "supervisor": ["grant_inspection", "view_inspectiongrant"]}


def in_role(user, role: str):
    """The role with its inspection permissions (reports' migration 0004; made again after a flush)."""
    group, _created = Group.objects.get_or_create(name=role)
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="reports", codename__in=ROLE_PERMISSIONS[role])
    )
    user.groups.add(group)
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def inspector(db):
    return in_role(UserFactory(username="inspector1", nickname="检查员"), "inspector")


@pytest.fixture
def grantor(db):
    return in_role(UserFactory(username="grantor", nickname="合规主管", is_staff=True), "supervisor")


@pytest.fixture
def scene(group, owner, member, outsider):
    """The group in scope with a reported, removed message and its case; a second group (out of scope) with
    its own case; a measure on the member."""
    reporter = UserFactory(username="reporter9", nickname="举报人")
    group_services.membership_join(actor=actor_for(reporter), group=group, invite_token=group.invite_token)
    for n in range(3):
        group_services.message_send(
            actor=actor_for(member), group=group, body=f"上文{n}", client_msg_id=f"c{n}"
        )
    bad, _created = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单返利加我", client_msg_id="bad"
    )
    complaint = moderation_services.complaint_file(
        actor=actor_for(reporter),
        target=ReportTarget("message", group, bad, member),
        category="CONDUCT_FRAUD_SPAM",
        description="刷单广告",
    )
    group_services.message_remove(actor=actor_for(owner), message=bad, reason="广告")
    other = group_services.group_create(actor=actor_for(outsider), name="外面的群")
    stranger = UserFactory(username="stranger9", nickname="陌生人")
    group_services.membership_join(actor=actor_for(stranger), group=other, invite_token=other.invite_token)
    elsewhere, _created = group_services.message_send(
        actor=actor_for(stranger), group=other, body="别处", client_msg_id="x"
    )
    other_complaint = moderation_services.complaint_file(
        actor=actor_for(outsider),
        target=ReportTarget("message", other, elsewhere, stranger),
        category="CONDUCT_FRAUD_SPAM",
    )
    return {
        "group": group,
        "message": bad,
        "case": complaint.case,
        "other_group": other,
        "other_case": other_complaint.case,
        "stranger": stranger,
        "reporter": reporter,
    }


def make_grant(grantor, inspector, scene, **overrides):
    now = timezone.now()
    arguments = {
        "inspector": inspector,
        "authority": "市网信办",
        "reference": "网信检〔2026〕12号",
        "purpose": "核查群内刷单广告的处置",
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(days=7),
        "groups": [scene["group"]],
        "users": [],
        **overrides,
    }
    return services.inspection_grant(actor=actor_for(grantor), **arguments)


@pytest.fixture
def grant(grantor, inspector, scene):
    return make_grant(grantor, inspector, scene)


def inspector_client(client, inspector):
    client.force_login(inspector)
    return client


# Granting


def test_supervisor_grant_is_recorded_and_audited_r13_1(grant, grantor, inspector, scene):
    assert grant.inspector == inspector
    assert list(grant.scope_groups.all()) == [scene["group"]]
    event = AuditEvent.objects.get(event_type="reports.inspection_granted")
    assert event.actor_id == grantor.pk
    assert event.data["groups"] == [scene["group"].code]
    assert event.reason == "核查群内刷单广告的处置"


def test_the_inspector_is_told_of_the_grant_and_of_its_revocation_r13_1(grant, grantor, inspector):
    from notifications.models import Notification

    granted = Notification.objects.get(recipient=inspector, kind="reports.inspection_granted")
    assert granted.context["grant"] == grant.pk
    services.inspection_revoke(actor=actor_for(grantor), grant=grant, reason="检查结束")
    assert Notification.objects.filter(recipient=inspector, kind="reports.inspection_revoked").exists()


def test_reviewer_without_the_grant_permission_cannot_grant_r13_1(inspector, scene):
    reviewer = UserFactory(username="rev-x", is_staff=True)
    with pytest.raises(PolicyDenied):
        make_grant(reviewer, inspector, scene)
    assert not InspectionGrant.objects.exists()


def test_access_is_granted_only_to_an_inspector_account_r13_1(grantor, member, scene):
    with pytest.raises(PolicyDenied) as refused:
        make_grant(grantor, member, scene)
    assert refused.value.code == "not_inspector"
    staff_inspector = in_role(UserFactory(username="staff-insp", is_staff=True), "inspector")
    with pytest.raises(PolicyDenied) as refused:
        make_grant(grantor, staff_inspector, scene)
    assert refused.value.code == "staff_account"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ends_at": timezone.now() - timedelta(days=2)}, "ends_at"),
        ({"ends_at": timezone.now() + timedelta(days=400)}, "ends_at"),
        ({"groups": [], "users": []}, "scope_groups"),
        ({"purpose": "  "}, "purpose"),
        (
            {"records_from": timezone.now(), "records_until": timezone.now() - timedelta(days=1)},
            "records_until",
        ),
    ],
)
def test_a_grant_needs_a_purpose_a_bounded_window_and_a_scope_r13_1(
    grantor, inspector, scene, overrides, field
):
    with pytest.raises(ValidationError) as invalid:
        make_grant(grantor, inspector, scene, **overrides)
    assert field in invalid.value.message_dict
    assert not InspectionGrant.objects.exists()


# Reading within the scope


def test_inspector_reads_the_group_in_scope_with_its_removed_message_r13_1(client, grant, inspector, scene):
    page = inspector_client(client, inspector).get(
        reverse("inspection-group", args=[grant.pk, scene["group"].code])
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "刷单返利加我" in text  # removed, still shown to the inspector as evidence
    assert "上文0" in text
    assert "广告" in text  # the reason for removal


def test_inspector_opens_the_case_in_scope_with_its_complaint_r13_1(client, grant, inspector, scene):
    page = inspector_client(client, inspector).get(
        reverse("inspection-case", args=[grant.pk, scene["case"].pk])
    )
    assert page.status_code == 200
    assert "刷单广告" in page.content.decode()


@pytest.mark.parametrize(
    "target",
    ["other_group", "other_case", "stranger", "no_such_case", "someone_elses_grant"],
)
def test_anything_outside_the_scope_is_a_404_and_the_attempt_is_audited_r13_1(
    client, grant, grantor, inspector, scene, target
):
    other_inspector = in_role(UserFactory(username="inspector2"), "inspector")
    theirs = make_grant(grantor, other_inspector, scene)
    url = {
        "other_group": reverse("inspection-group", args=[grant.pk, scene["other_group"].code]),
        "other_case": reverse("inspection-case", args=[grant.pk, scene["other_case"].pk]),
        "stranger": reverse("inspection-user", args=[grant.pk, scene["stranger"].pk]),
        "no_such_case": reverse("inspection-case", args=[grant.pk, 999999]),
        "someone_elses_grant": reverse("inspection-grant", args=[theirs.pk]),
    }[target]
    response = inspector_client(client, inspector).get(url)
    assert response.status_code == 404
    refusal = AuditEvent.objects.get(event_type="reports.inspection_refused")
    assert refusal.actor_kind == "inspector"
    if target == "someone_elses_grant":  # recorded, but not under the other inspector's grant
        assert refusal.data == {"path": url, "refused": "not_your_grant", "grant": str(theirs.pk)}
        assert refusal.target_id == ""
    else:
        assert refusal.data == {"path": url, "refused": "out_of_scope"}
        assert refusal.target_id == str(grant.pk)


def test_a_user_in_scope_is_readable_and_their_messages_elsewhere_too_r13_1(
    client, grantor, inspector, scene
):
    grant = make_grant(grantor, inspector, scene, groups=[], users=[scene["stranger"]])
    page = inspector_client(client, inspector).get(
        reverse("inspection-user", args=[grant.pk, scene["stranger"].pk])
    )
    assert page.status_code == 200
    assert "别处" in page.content.decode()
    # The case about them is in scope; the group they are in is not (only the user was named).
    assert (
        inspector_client(client, inspector)
        .get(reverse("inspection-case", args=[grant.pk, scene["other_case"].pk]))
        .status_code
        == 200
    )
    assert (
        client.get(reverse("inspection-group", args=[grant.pk, scene["other_group"].code])).status_code == 404
    )


def test_the_span_of_records_limits_what_is_seen_r13_1(client, grantor, inspector, scene):
    tomorrow = timezone.now() + timedelta(days=1)
    grant = make_grant(grantor, inspector, scene, records_from=tomorrow)
    inspector_client(client, inspector)
    assert client.get(reverse("inspection-case", args=[grant.pk, scene["case"].pk])).status_code == 404
    page = client.get(reverse("inspection-group", args=[grant.pk, scene["group"].code]))
    assert page.status_code == 200
    assert "刷单返利加我" not in page.content.decode()


def test_every_page_the_inspector_opens_is_audited_r13_1(client, grant, inspector, scene):
    inspector_client(client, inspector)
    urls = [
        reverse("inspection-grant", args=[grant.pk]),
        reverse("inspection-group", args=[grant.pk, scene["group"].code]),
        reverse("inspection-case", args=[grant.pk, scene["case"].pk]),
        reverse("inspection-logs", args=[grant.pk]) + "?kind=network",
        reverse("inspection-logs", args=[grant.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200
    viewed = AuditEvent.objects.filter(event_type="reports.inspection_viewed").order_by("seq")
    assert [event.data["path"] for event in viewed] == urls
    assert {(event.actor_id, event.actor_kind, event.target_id) for event in viewed} == {
        (inspector.pk, "inspector", str(grant.pk))
    }


def test_the_logs_show_the_scope_and_not_other_inspections_r13_1(client, grant, inspector, scene):
    inspector_client(client, inspector)
    client.get(reverse("inspection-grant", args=[grant.pk]))
    page = client.get(reverse("inspection-logs", args=[grant.pk]))
    text = page.content.decode()
    assert (
        "groups.message_removed" in text or "groups.message_taken_down" in text or scene["group"].code in text
    )
    assert "reports.inspection_viewed" not in text
    assert scene["other_group"].code not in text


def test_inspector_pages_are_read_only_r13_1(client, grant, inspector, scene):
    response = inspector_client(client, inspector).post(
        reverse("inspection-group", args=[grant.pk, scene["group"].code])
    )
    assert response.status_code == 405


# The grant's window


def test_the_grant_ends_by_itself_r13_1(client, grant, inspector, scene, monkeypatch):
    url = reverse("inspection-grant", args=[grant.pk])
    inspector_client(client, inspector)
    assert client.get(url).status_code == 200
    later = timezone.now() + timedelta(days=8)
    monkeypatch.setattr(timezone, "now", lambda: later)
    response = client.get(url)
    assert response.status_code == 403
    assert "已结束" in response.content.decode() or "has ended" in response.content.decode()
    refusal = AuditEvent.objects.filter(event_type="reports.inspection_refused").latest("seq")
    assert refusal.data["refused"] == "grant_ended"


def test_a_grant_not_yet_started_is_refused_r13_1(client, grantor, inspector, scene):
    grant = make_grant(grantor, inspector, scene, starts_at=timezone.now() + timedelta(hours=2))
    response = inspector_client(client, inspector).get(reverse("inspection-grant", args=[grant.pk]))
    assert response.status_code == 403


def test_a_revoked_grant_is_refused_at_once_r13_1(client, grant, grantor, inspector, scene):
    client.force_login(grantor)
    response = client.post(reverse("inspection-grant-revoke", args=[grant.pk]), {"reason": "检查结束"})
    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
    assert AuditEvent.objects.filter(event_type="reports.inspection_revoked", reason="检查结束").exists()
    client.force_login(inspector)
    assert client.get(reverse("inspection-grant", args=[grant.pk])).status_code == 403


def test_revoking_needs_a_reason_r13_1(client, grant, grantor):
    client.force_login(grantor)
    client.post(reverse("inspection-grant-revoke", args=[grant.pk]), {"reason": ""})
    grant.refresh_from_db()
    assert grant.revoked_at is None


# Complaint statistics (R12.2)


def test_complaint_statistics_in_scope_match_a_hand_count_r12_2(client, grant, inspector, scene, reviewer):
    moderation_services.case_close(
        actor=actor_for(reviewer), case=scene["case"], outcome="已处理", resolution="upheld"
    )
    from reports.inspection import Scope

    statistics = Scope(grant).statistics()
    # In scope: one complaint, one case, decided (the other group's case is out of scope).
    assert (statistics.complaints, statistics.cases, statistics.decided, statistics.open) == (1, 1, 1, 0)
    assert statistics.overdue == 0
    assert statistics.average_hours is not None
    page = inspector_client(client, inspector).get(reverse("inspection-grant", args=[grant.pk]))
    assert 'id="statistics"' in page.content.decode()


def test_an_open_case_past_its_deadline_counts_as_overdue_r12_2(grant, scene, monkeypatch):
    from reports.inspection import Scope

    later = scene["case"].deadline + timedelta(hours=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    statistics = Scope(grant).statistics()
    assert (statistics.open, statistics.overdue) == (1, 1)


# The evidence package


def test_the_evidence_package_has_a_manifest_and_every_files_hash_r13_1(client, grant, inspector, scene):
    response = inspector_client(client, inspector).post(
        reverse("inspection-case-export", args=[grant.pk, scene["case"].pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    body = response.content
    package = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(package.read("manifest.json"))
    names = {entry["name"] for entry in manifest["files"]}
    assert {"case.json", "messages.json", "audit.json", "README.txt"} <= names
    for entry in manifest["files"]:
        data = package.read(entry["name"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(data) == entry["bytes"]
    sums = package.read("SHA256SUMS").decode().splitlines()
    assert sorted(line.split("  ")[1] for line in sums) == sorted(names)
    signature = manifest.pop("signature")
    assert signing.verify(manifest, key_id=signature["kid"], signature=signature["sig"])
    case = json.loads(package.read("case.json"))
    assert case["id"] == scene["case"].pk
    assert case["complaints"][0]["description"] == "刷单广告"
    messages = json.loads(package.read("messages.json"))
    reported = next(m for m in messages if m["id"] == scene["message"].pk)
    assert reported["body"] == "刷单返利加我"
    assert reported["status"] == "removed"
    assert any(m["body"] == "上文0" for m in messages)
    export = EvidenceExport.objects.get()
    assert export.sha256 == hashlib.sha256(body).hexdigest() == response["X-Package-SHA256"]
    assert export.files == len(names)
    event = AuditEvent.objects.get(event_type="reports.inspection_exported")
    assert event.data["sha256"] == export.sha256


def test_a_changed_file_no_longer_matches_the_manifest_r13_1(grant, inspector, scene):
    from common.actors import Actor, ActorKind, Door

    actor = Actor(user=inspector, kind=ActorKind.INSPECTOR, door=Door.WEB)
    body, _export = services.evidence_export(actor=actor, grant=grant, case=scene["case"])
    package = zipfile.ZipFile(io.BytesIO(body))
    manifest = json.loads(package.read("manifest.json"))
    entry = next(e for e in manifest["files"] if e["name"] == "case.json")
    tampered = package.read("case.json").replace("刷单广告".encode(), "普通消息".encode())
    assert hashlib.sha256(tampered).hexdigest() != entry["sha256"]
    signature = manifest.pop("signature")
    manifest["case"] = 1
    assert not signing.verify(manifest, key_id=signature["kid"], signature=signature["sig"])


def test_no_package_for_a_case_outside_the_scope_r13_1(client, grant, inspector, scene):
    response = inspector_client(client, inspector).post(
        reverse("inspection-case-export", args=[grant.pk, scene["other_case"].pk])
    )
    assert response.status_code == 404
    assert not EvidenceExport.objects.exists()


# The supervisor's pages


def test_supervisor_grants_through_the_page_by_codes_and_account_names_r13_1(
    client, grantor, inspector, scene
):
    client.force_login(grantor)
    now = timezone.localtime()
    form = {
        "inspector": inspector.pk,
        "authority": "省公安厅网安总队",
        "purpose": "依法检查",
        "starts_at": f"{now:%Y-%m-%dT%H:%M}",
        "ends_at": f"{now + timedelta(days=3):%Y-%m-%dT%H:%M}",
        "groups": f"{scene['group'].code.lower()}, ",
        "users": "stranger9",
        "records_from": f"{now - timedelta(days=30):%Y-%m-%d}",
        "records_until": f"{now:%Y-%m-%d}",
    }
    response = client.post(reverse("inspection-grant-new"), form)
    assert response.status_code == 302
    grant = InspectionGrant.objects.get()
    assert list(grant.scope_groups.all()) == [scene["group"]]
    assert list(grant.scope_users.all()) == [scene["stranger"]]
    # The last day is included: records until the next midnight, Beijing time.
    assert timezone.localtime(grant.records_until).date() == (now + timedelta(days=1)).date()
    detail = client.get(response["Location"])
    assert "省公安厅网安总队" in detail.content.decode()


def test_unknown_groups_and_users_are_named_and_nothing_is_granted(client, grantor, inspector):
    client.force_login(grantor)
    now = timezone.localtime()
    response = client.post(
        reverse("inspection-grant-new"),
        {
            "inspector": inspector.pk,
            "authority": "市网信办",
            "purpose": "检查",
            "starts_at": f"{now:%Y-%m-%dT%H:%M}",
            "ends_at": f"{now + timedelta(days=3):%Y-%m-%dT%H:%M}",
            "groups": "NOPE1234",
            "users": "nobody-at-all",
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "NOPE1234" in text
    assert "nobody-at-all" in text
    assert not InspectionGrant.objects.exists()


def test_the_grant_page_lists_what_the_inspector_opened_and_exported_r13_1(
    client, grant, grantor, inspector, scene
):
    inspector_client(client, inspector)
    client.get(reverse("inspection-case", args=[grant.pk, scene["case"].pk]))
    client.post(reverse("inspection-case-export", args=[grant.pk, scene["case"].pk]))
    client.force_login(grantor)
    page = client.get(reverse("inspection-grant-detail", args=[grant.pk])).content.decode()
    assert reverse("inspection-case", args=[grant.pk, scene["case"].pk]) in page
    assert EvidenceExport.objects.get().sha256 in page


def test_the_dashboard_is_open_to_an_inspector_only_with_the_statistics_r13_1(
    client, grantor, inspector, scene
):
    without = make_grant(grantor, inspector, scene)
    with_statistics = make_grant(grantor, inspector, scene, statistics=True)
    inspector_client(client, inspector)
    assert client.get(reverse("inspection-dashboard", args=[without.pk])).status_code == 404
    page = client.get(reverse("inspection-dashboard", args=[with_statistics.pk]))
    assert page.status_code == 200
    assert "R13.1" in page.content.decode()


def test_the_inspector_home_lists_their_grants_and_refuses_others(client, grant, inspector, member):
    assert inspector_client(client, inspector).get(reverse("inspection-home")).status_code == 200
    client.force_login(member)
    assert client.get(reverse("inspection-home")).status_code == 403


def _picture() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((64, 48)).save(out, "PNG")
    return out.getvalue()


def test_a_removed_picture_in_scope_opens_for_the_inspector_and_one_outside_does_not_r13_1(
    client, grant, inspector, scene, member, owner
):
    picture, _created = group_services.message_send_file(
        actor=actor_for(member),
        group=scene["group"],
        data=_picture(),
        name="证据.png",
        caption="",
        client_msg_id="p1",
    )
    group_services.message_remove(actor=actor_for(owner), message=picture, reason="违规图片")
    elsewhere, _created = group_services.message_send_file(
        actor=actor_for(scene["stranger"]),
        group=scene["other_group"],
        data=_picture(),
        name="别处.png",
        caption="",
        client_msg_id="p2",
    )
    inspector_client(client, inspector)
    response = client.get(reverse("inspection-file", args=[grant.pk, picture.attachment.token]))
    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == picture.attachment.sha256
    outside = client.get(reverse("inspection-file", args=[grant.pk, elsewhere.attachment.token]))
    assert outside.status_code == 404
    # The member who removed nothing cannot open the removed picture through the members' door.
    client.force_login(member)
    assert client.get(reverse("attachment", args=[picture.attachment.token])).status_code == 404


# Review findings: nothing the inspector sees lets them in, or out of the scope


def test_logged_invitation_links_are_masked_and_an_inspector_account_cannot_join_r13_1(
    client, grantor, inspector, scene
):
    grant = make_grant(grantor, inspector, scene, groups=[], users=[scene["stranger"]])
    secret = group_services.group_create(actor=actor_for(scene["stranger"]), name="秘密群")
    client.force_login(scene["stranger"])
    client.get(f"/join/{secret.invite_token}/")
    inspector_client(client, inspector)
    page = client.get(reverse("inspection-logs", args=[grant.pk]) + "?kind=network").content.decode()
    assert "/join/…" in page
    assert secret.invite_token not in page
    client.post(f"/join/{secret.invite_token}/", {"accept_rules": "on"})
    assert not secret.memberships.filter(user=inspector).exists()
    with pytest.raises(PolicyDenied) as refused:
        group_services.membership_join(
            actor=actor_for(inspector), group=secret, invite_token=secret.invite_token
        )
    assert refused.value.code == "inspector_account"


def test_frozen_evidence_about_a_group_outside_the_scope_keeps_only_the_reported_message_r13_1(
    client, grantor, inspector, scene, outsider
):
    other = scene["other_group"]
    bystander = UserFactory(username="bystander9", nickname="旁观者")
    group_services.membership_join(actor=actor_for(bystander), group=other, invite_token=other.invite_token)
    group_services.message_send(
        actor=actor_for(bystander), group=other, body="旁观者的私密话", client_msg_id="b1"
    )
    said, _created = group_services.message_send(
        actor=actor_for(scene["stranger"]), group=other, body="违规的话", client_msg_id="s1"
    )
    complaint = moderation_services.complaint_file(
        actor=actor_for(outsider),
        target=ReportTarget("message", other, said, scene["stranger"]),
        category="CONDUCT_FRAUD_SPAM",
    )
    grant = make_grant(grantor, inspector, scene, groups=[], users=[scene["stranger"]])
    inspector_client(client, inspector)
    page = client.get(reverse("inspection-case", args=[grant.pk, complaint.case.pk])).content.decode()
    assert "违规的话" in page
    assert "旁观者的私密话" not in page
    body = client.post(reverse("inspection-case-export", args=[grant.pk, complaint.case.pk])).content
    record = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("case.json"))
    evidence = record["complaints"][0]["evidence"]
    assert evidence["message"]["text"] == "违规的话"
    assert evidence["before"] == evidence["members"] == []
    assert set(evidence["group"]) == {"id", "code", "name", "status"}
    assert "旁观者" not in json.dumps(record, ensure_ascii=False)


def test_the_reported_message_outside_the_span_stays_out_of_the_package_r13_1(grantor, inspector, scene):
    from common.actors import Actor, ActorKind, Door
    from groups.models import Message

    Message.objects.filter(pk=scene["message"].pk).update(created_at=timezone.now() - timedelta(days=10))
    grant = make_grant(
        grantor,
        inspector,
        scene,
        groups=[],
        users=[scene["message"].sender],
        records_from=timezone.now() - timedelta(days=30),
        records_until=timezone.now() - timedelta(days=20),
    )
    actor = Actor(user=inspector, kind=ActorKind.INSPECTOR, door=Door.WEB)
    with pytest.raises(Http404):  # the case itself was opened today: outside the span
        services.evidence_export(actor=actor, grant=grant, case=scene["case"])
    wide = make_grant(
        grantor,
        inspector,
        scene,
        groups=[],
        users=[scene["message"].sender],
        records_from=timezone.now() - timedelta(days=1),
    )
    body, _export = services.evidence_export(actor=actor, grant=wide, case=scene["case"])
    messages = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("messages.json"))
    assert messages == []  # sent ten days ago: before the span


@pytest.mark.parametrize(
    ("field", "value"), [("records_from", "0001-01-01"), ("records_until", "9999-12-31")]
)
def test_dates_far_out_of_range_are_refused_with_a_message_r13_1(
    client, grantor, inspector, scene, field, value
):
    client.force_login(grantor)
    now = timezone.localtime()
    form = {
        "inspector": inspector.pk,
        "authority": "市网信办",
        "purpose": "检查",
        "starts_at": f"{now:%Y-%m-%dT%H:%M}",
        "ends_at": f"{now + timedelta(days=3):%Y-%m-%dT%H:%M}",
        "groups": scene["group"].code,
        field: value,
    }
    response = client.post(reverse("inspection-grant-new"), form)
    assert response.status_code == 200
    assert "has-error" in response.content.decode()
    assert not InspectionGrant.objects.exists()
    assert client.get(reverse("inspection-grants")).status_code == 200


@pytest.mark.parametrize("path", ["groups/AB%00CD/", "files/ab%00cd/", "files/x/"])
def test_odd_codes_and_tokens_are_404_not_500(client, grant, inspector, path):
    response = inspector_client(client, inspector).get(f"/inspection/{grant.pk}/{path}")
    assert response.status_code == 404


def test_refused_grants_and_revocations_are_audited_r13_1(client, grant, inspector, scene, member):
    reviewer = UserFactory(username="rev-y", is_staff=True)
    client.force_login(reviewer)
    assert client.post(reverse("inspection-grant-new"), {}).status_code == 403
    assert (
        client.post(reverse("inspection-grant-revoke", args=[grant.pk]), {"reason": "x"}).status_code == 403
    )
    denied = AuditEvent.objects.filter(actor=reviewer, event_type__endswith="_denied").values_list(
        "event_type", flat=True
    )
    assert sorted(denied) == ["reports.inspection_grant_denied", "reports.inspection_revoke_denied"]


def test_an_inspector_made_staff_loses_the_grant_r13_1(client, grant, inspector):
    type(inspector).objects.filter(pk=inspector.pk).update(is_staff=True)
    inspector.refresh_from_db()
    assert (
        inspector_client(client, inspector).get(reverse("inspection-grant", args=[grant.pk])).status_code
        == 403
    )


# The dashboard's rows (R12.2, R13.1)


def _dashboard_row(rid: str):
    from django.utils import translation

    from reports import dashboard

    with translation.override("en"):
        return next(row for row in dashboard.requirement_rows() if row.id == rid)


def test_r13_1_r12_2_rows_count_grants_pages_and_exports_by_hand(client, grant, grantor, inspector, scene):
    make_grant(grantor, inspector, scene, starts_at=timezone.now() + timedelta(days=1))  # not yet in force
    inspector_client(client, inspector)
    client.get(reverse("inspection-grant", args=[grant.pk]))
    client.get(reverse("inspection-case", args=[grant.pk, scene["case"].pk]))
    client.get(reverse("inspection-group", args=[grant.pk, scene["other_group"].code]))  # refused
    client.post(reverse("inspection-case-export", args=[grant.pk, scene["case"].pk]))
    row = _dashboard_row("R13.1")
    figures = dict(row.figures)
    assert row.status == "met"
    assert (figures["Grants in force"], figures["Granted, last 30 days"]) == ("1", "2")
    assert (figures["Pages opened (audited)"], figures["Refused (audited)"]) == ("2", "1")
    assert figures["Evidence packages exported, last 30 days"] == "1"
    r12 = _dashboard_row("R12.2")
    assert r12.status == "met"
    assert dict(r12.figures)["Inspector pages opened, last 30 days"] == "2"


def test_r13_1_a_grant_whose_inspector_was_deactivated_needs_attention(grant, inspector):
    type(inspector).objects.filter(pk=inspector.pk).update(is_active=False)
    row = _dashboard_row("R13.1")
    assert row.status == "attention"
    assert "1 grant" in row.reason
