import pytest

from groups import services
from groups.models import Message
from tests.conftest import actor_for


@pytest.fixture
def api(client, member):
    client.force_login(member)
    return client


def test_api_groups_lists_only_my_groups(api, group, owner):
    services.group_create(actor=actor_for(owner), name="别人的群")
    response = api.get("/api/groups/")
    assert response.status_code == 200
    assert [g["code"] for g in response.json()] == [group.code]
    assert response.json()[0]["member_count"] == 2


def test_api_send_creates_then_repeat_returns_original(api, group):
    url = f"/api/groups/{group.code}/messages/"
    first = api.post(url, {"body": "你好", "client_msg_id": "a1"}, content_type="application/json")
    again = api.post(url, {"body": "改了", "client_msg_id": "a1"}, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["seq"] == again.json()["seq"] == 1
    assert again.json()["body"] == "你好"
    assert Message.objects.count() == 1


def test_api_list_after_sequence_number(api, group, member):
    for n in range(1, 5):
        services.message_send(actor=actor_for(member), group=group, body=f"m{n}", client_msg_id=f"c{n}")
    response = api.get(f"/api/groups/{group.code}/messages/?after=2")
    assert [m["seq"] for m in response.json()] == [3, 4]
    assert response.json()[0]["sender"] == {"id": member.pk, "nickname": "成员", "role": "member"}


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"body": "", "client_msg_id": "x"}, 400),
        ({"body": "x" * 2001, "client_msg_id": "x"}, 400),
        ({"client_msg_id": "x"}, 400),
        ({"body": "hi"}, 400),
        ({"body": "a\x00b", "client_msg_id": "x"}, 400),
    ],
)
def test_api_send_bad_input_is_400_with_code(api, group, payload, status):
    response = api.post(f"/api/groups/{group.code}/messages/", payload, content_type="application/json")
    assert response.status_code == status
    assert response.json()["code"]
    assert Message.objects.count() == 0


def test_api_list_bad_query_is_400(api, group):
    response = api.get(f"/api/groups/{group.code}/messages/?after=abc")
    assert response.status_code == 400
    response = api.get(f"/api/groups/{group.code}/messages/?limit=100000")
    assert response.status_code == 400


def test_api_unknown_group_code_is_404(api):
    assert api.get("/api/groups/ZZZZZZZZ/messages/").status_code == 404


def test_api_schema_documents_the_operations(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/groups/" in paths
    assert {"get", "post"} <= set(paths["/api/groups/{code}/messages/"])


def test_api_refusal_keeps_the_rules_code_like_the_socket(api, group):
    url = f"/api/groups/{group.code}/messages/"
    response = api.post(url, {"body": "a\x00b", "client_msg_id": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "message_invalid"
