"""R12.1: POST /api/complaints/ files through the same selector, policy and service as the page."""

from moderation.models import Case, Complaint

URL = "/api/complaints/"


def test_api_r12_1_files_a_message_complaint(client, group, message, reporter):
    client.force_login(reporter)
    response = client.post(
        URL,
        {
            "group": group.code,
            "message_seq": message.seq,
            "category": "CONDUCT_FRAUD_SPAM",
            "description": "骗",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["target"], body["category"], body["case_status"]) == (
        "message",
        "CONDUCT_FRAUD_SPAM",
        "open",
    )
    assert Complaint.objects.get().case_id == body["case"]


def test_api_r12_1_refusals_carry_codes(client, group, message, reporter, outsider):
    payload = {"group": group.code, "message_seq": message.seq, "category": "CONDUCT_FRAUD_SPAM"}
    assert client.post(URL, payload, content_type="application/json").status_code == 403  # signed out
    client.force_login(outsider)
    assert client.post(URL, payload, content_type="application/json").status_code == 404
    client.force_login(reporter)
    assert client.post(URL, payload, content_type="application/json").status_code == 201
    again = client.post(URL, payload, content_type="application/json")
    assert again.status_code == 403 and again.json()["code"] == "already_reported"
    bad = client.post(URL, {**payload, "category": "NOPE"}, content_type="application/json")
    assert bad.status_code == 400 and bad.json()["code"] == "category_invalid"
    assert Case.objects.get().complaint_count == 1


def test_api_r12_1_rate_limit_is_429(client, group, message, reporter, member, settings):
    settings.MODERATION_MEMBER_COMPLAINTS_PER_HOUR = 1
    client.force_login(reporter)
    payload = {"group": group.code, "category": "CONDUCT_FRAUD_SPAM"}
    assert (
        client.post(URL, {**payload, "member_id": member.pk}, content_type="application/json").status_code
        == 201
    )
    limited = client.post(URL, {**payload, "message_seq": message.seq}, content_type="application/json")
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited" and limited["Retry-After"]


def test_api_r12_1_is_in_the_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/complaints/" in schema and "complaints_create" in schema
