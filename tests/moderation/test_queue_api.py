"""R12.1: the review queue's API for reviewers: the list, "claim next" and decisions, through the same
services as the pages; refusals carry their codes; documented in the OpenAPI schema."""

import pytest

from groups import services as group_services
from moderation import selectors, services
from moderation.models import Case, ReviewItem, ReviewKind
from tests.conftest import actor_for

CLAIM = "/api/review/claim-next/"
ITEMS = "/api/review/items/"


def _file(user, group, *, seq=None, member_id=None, category="CONDUCT_FRAUD_SPAM"):
    actor = actor_for(user)
    target = selectors.report_target_for_actor(actor, group.code, message_seq=seq, member_id=member_id)
    return services.complaint_file(actor=actor, target=target, category=category)


def _decide(client, item_id, **body):
    return client.post(f"{ITEMS}{item_id}/decide/", body, content_type="application/json")


@pytest.fixture
def queued(group, message, reporter, held):
    """A reported message (a case) and a held message."""
    return _file(reporter, group, seq=message.seq).case


def test_api_r12_1_claim_next_then_decide_a_case(client, queued, queue_reviewer, reporter):
    client.force_login(queue_reviewer)
    listed = client.get(ITEMS)
    assert listed.status_code == 200 and {i["kind"] for i in listed.json()} == {"case", "held_message"}
    claimed = client.post(CLAIM, {"kind": "case"}, content_type="application/json")
    assert claimed.status_code == 200
    body = claimed.json()
    assert (body["kind"], body["object_id"], body["claimed_by"]) == ("case", queued.pk, queue_reviewer.pk)
    assert body["decisions"] == ["uphold", "remove", "dismiss"]
    decided = _decide(client, body["id"], decision="dismiss", note="未见违规")
    assert decided.status_code == 200 and decided.json()["status"] == "decided"
    assert Case.objects.get(pk=queued.pk).resolution == "dismissed"


def test_api_r12_1_decide_a_held_message_and_204_when_nothing_is_left(client, queued, held, queue_reviewer):
    client.force_login(queue_reviewer)
    claimed = client.post(CLAIM, {"kind": "held_message"}, content_type="application/json").json()
    assert _decide(client, claimed["id"], decision="release").status_code == 200
    held.refresh_from_db()
    assert held.status == "visible" and held.seq
    assert client.post(CLAIM, {"kind": "held_message"}, content_type="application/json").status_code == 204


def test_api_r12_1_refusals_and_bad_input_carry_codes(
    client, queued, queue_reviewer, queue_reviewer2, owner, member
):
    item = ReviewItem.objects.get(kind=ReviewKind.CASE, object_id=queued.pk)
    client.force_login(queue_reviewer)
    assert _decide(client, item.pk, decision="explode").json()["code"] == "decision_invalid"
    assert _decide(client, item.pk, decision="uphold", note="").json()["code"] == "note_empty"
    assert _decide(client, item.pk, decision=7).status_code == 400
    assert client.post(CLAIM, {"kind": "nonsense"}, content_type="application/json").status_code == 400
    assert client.get(ITEMS, {"kind": "nonsense"}).json()["code"] == "filter_invalid"
    assert _decide(client, 999_999, decision="uphold", note="x").status_code == 404
    client.post(CLAIM, {"kind": "case"}, content_type="application/json")
    client.force_login(queue_reviewer2)
    taken = _decide(client, item.pk, decision="dismiss", note="x")
    assert taken.status_code == 403 and taken.json()["code"] == "claimed_by_other"
    released = client.post(f"{ITEMS}{item.pk}/release/")
    assert released.status_code == 403 and released.json()["code"] == "not_yours"
    for user in (owner, member):
        client.force_login(user)
        assert client.post(CLAIM, {}, content_type="application/json").status_code == 403
        assert client.get(ITEMS).status_code == 403
        assert _decide(client, item.pk, decision="dismiss", note="x").status_code == 403
    client.logout()
    assert client.post(CLAIM, {}, content_type="application/json").status_code == 403


def test_api_r12_1_release_gives_the_item_back(client, queued, queue_reviewer):
    client.force_login(queue_reviewer)
    claimed = client.post(CLAIM, {"kind": "case"}, content_type="application/json").json()
    released = client.post(f"{ITEMS}{claimed['id']}/release/")
    assert released.status_code == 200 and released.json()["claimed_by"] is None


def test_api_r12_1_group_request_decisions(client, owner, queue_reviewer):
    pending = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    client.force_login(queue_reviewer)
    claimed = client.post(CLAIM, {"kind": "group_request"}, content_type="application/json").json()
    assert claimed["object_id"] == pending.pk
    assert _decide(client, claimed["id"], decision="refuse").json()["code"] == "note_empty"
    assert _decide(client, claimed["id"], decision="approve", note="资质齐全").status_code == 200
    pending.refresh_from_db()
    assert pending.status == "active"


def test_api_r12_1_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for text in (
        "/api/review/claim-next/",
        "/api/review/items/{id}/decide/",
        "review_claim_next",
        "review_item_decide",
    ):
        assert text in schema


def test_api_r12_1_every_kind_of_decision(
    client, group, message, member, reporter, owner, lexicon, settings, queue_reviewer
):
    from identity import services as identity_services
    from tests.factories import UnverifiedUserFactory, valid_id_number

    settings.IDENTITY_VERIFIER = "staff"
    person = UnverifiedUserFactory()
    identity_services.agreement_accept(actor=actor_for(person))
    verification = identity_services.verification_submit(
        actor=actor_for(person), real_name="王五", id_number=valid_id_number(), consent=True
    )
    held, _ = group_services.message_send(
        actor=actor_for(member), group=group, body="刷单", client_msg_id="q1"
    )
    case = _file(reporter, group, seq=message.seq).case
    member_case = _file(reporter, group, member_id=member.pk).case
    refused = group_services.group_create(actor=actor_for(owner), name="团购群", category="trade")
    client.force_login(queue_reviewer)
    assert client.get(ITEMS).status_code == 200  # the queue finds the held message, request and review

    def decide(kind, object_id, decision, note=""):
        item = ReviewItem.objects.get(kind=kind, object_id=object_id)
        response = _decide(client, item.pk, decision=decision, note=note)
        assert response.status_code == 200, response.json()
        return response.json()

    decide("identity_review", verification.pk, "reject", "证件照片不清晰")
    decide("held_message", held.pk, "remove", "广告")
    decide("case", case.pk, "remove", "已删除违规消息")
    decide("case", member_case.pk, "uphold", "已警告")
    decide("group_request", refused.pk, "refuse", "资质不符")
    verification.refresh_from_db()
    held.refresh_from_db()
    message.refresh_from_db()
    refused.refresh_from_db()
    assert (verification.status, held.status, message.status, refused.status) == (
        "rejected",
        "removed",
        "removed",
        "rejected",
    )
    assert list(
        Case.objects.filter(pk__in=[case.pk, member_case.pk]).values_list("resolution", flat=True)
    ) == [
        "upheld",
        "upheld",
    ]
