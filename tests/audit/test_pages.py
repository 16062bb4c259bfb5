"""Compliance staff find who did what, from where, and export it (itself audited); holds from the page."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from audit.models import AuditEvent, LegalHold, NetworkLog
from groups import services as group_services
from tests.conftest import actor_for
from tests.factories import UserFactory


@pytest.fixture
def officer(db):
    user = UserFactory(is_staff=True, username="officer")
    user.user_permissions.add(Permission.objects.get(codename="export_auditevent"))
    return type(user).objects.get(pk=user.pk)


def test_who_sent_a_message_from_which_address_and_port(client, officer, group, member):
    message, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="证据", client_msg_id="e1"
    )
    client.force_login(officer)
    page = client.get(reverse("audit-search"), {"source": "logs", "message_id": message.pk}).content.decode()
    assert member.username in page and "127.0.0.1:50000" in page and group.code in page


def test_search_by_group_and_csv_export_is_audited(client, officer, group):
    client.force_login(officer)
    page = client.get(
        reverse("audit-search"), {"source": "events", "group_code": group.code}
    ).content.decode()
    assert "groups.group_created" in page and "groups.member_joined" in page
    response = client.get(reverse("audit-export"), {"source": "events", "group_code": group.code})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("seq,occurred_at,event_type")
    assert "groups.group_created" in body
    export = AuditEvent.objects.filter(event_type="audit.exported").get()
    assert export.actor == officer and export.data["filters"]["group_code"] == group.code


def test_csv_cells_that_look_like_formulas_are_neutralised(client, officer, db):
    NetworkLog.objects.create(
        occurred_at="2026-01-01T00:00:00Z", kind="http", path="=HYPERLINK(1)", user_id=1
    )
    client.force_login(officer)
    body = b"".join(client.get(reverse("audit-export"), {"source": "logs"}).streaming_content).decode(
        "utf-8-sig"
    )
    assert "'=HYPERLINK(1)" in body


def test_bad_search_input_gets_messages_not_errors(client, officer):
    client.force_login(officer)
    response = client.get(
        reverse("audit-search"), {"ip": "not-an-ip", "since": "yesterday", "message_id": "x"}
    )
    assert response.status_code == 200
    assert response.content.decode().count('class="error"') >= 3


def test_holds_are_set_and_lifted_from_the_page_with_reasons(client, officer, member):
    client.force_login(officer)
    client.post(
        reverse("legal-holds"), {"target_type": "user", "target_id": str(member.pk), "reason": "公安协查"}
    )
    hold = LegalHold.objects.get()
    assert hold.set_by == officer and hold.lifted_at is None
    client.post(reverse("legal-hold-lift", args=[hold.pk]), {"reason": ""})
    hold.refresh_from_db()
    assert hold.lifted_at is None
    client.post(reverse("legal-hold-lift", args=[hold.pk]), {"reason": "案件结束"})
    hold.refresh_from_db()
    assert hold.lifted_by == officer
    assert AuditEvent.objects.filter(event_type__startswith="audit.legal_hold").count() == 2
