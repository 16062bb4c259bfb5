"""R10.1 through every door a text reaches: the chat socket, the API, the chat page, the profile page,
group creation, and another process picking up a changed lexicon without a restart."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from common.actors import Actor, Door
from common.policies import PolicyDenied
from groups import services as group_services
from groups.models import Message
from identity import services as identity_services
from screening import services
from screening.models import ScreeningEvidence
from tests.conftest import actor_for
from tests.groups.test_consumers import open_socket, receive_type

ROOT = Path(__file__).resolve().parents[2]


def test_page_r10_1_refuses_a_blocked_message_and_shows_a_held_one_to_its_author_only(
    client, lexicon, group, member, owner
):
    client.force_login(member)
    url = f"/groups/{group.code}/"
    response = client.post(url, {"body": "一起賭博吗", "client_msg_id": "p1"}, follow=True)
    assert "一起賭博吗" not in response.content.decode()
    assert "禁止" in response.content.decode() or "prohibited" in response.content.decode()
    assert not Message.objects.filter(client_msg_id="p1").exists()
    assert ScreeningEvidence.objects.filter(action="block", author=member).exists()
    response = client.post(url, {"body": "招人刷 单", "client_msg_id": "p2"}, follow=True)
    page = response.content.decode()
    assert "招人刷 单" in page and "held" in page
    held = Message.objects.get(client_msg_id="p2")
    assert held.status == "held" and held.seq is None and held.screening_evidence_id
    client.force_login(owner)
    assert "招人刷 单" not in client.get(url).content.decode()


def test_api_r10_1_blocks_with_a_code_and_holds_out_of_the_sequence(client, lexicon, group, member, owner):
    client.force_login(member)
    url = f"/api/groups/{group.code}/messages/"
    refused = client.post(
        url, {"body": "ｓｐａｍ here", "client_msg_id": "a1"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "content_blocked"
    assert refused.json()["category"] == "CONDUCT_FRAUD_SPAM"
    assert "ｓｐａｍ" not in refused.json()["detail"]  # the category is named, the text is not echoed
    held = client.post(url, {"body": "刷单兼职", "client_msg_id": "a2"}, content_type="application/json")
    assert held.status_code == 201 and held.json()["status"] == "held" and held.json()["seq"] is None
    fine = client.post(url, {"body": "你好", "client_msg_id": "a3"}, content_type="application/json")
    assert fine.json()["seq"] == 1  # the held message took no number
    client.force_login(owner)
    bodies = [m["body"] for m in client.get(url + "?after=0").json()]
    assert bodies == ["你好"]


@pytest.mark.django_db(transaction=True)
async def test_socket_r10_1_errors_on_block_acks_a_hold_and_broadcasts_neither(lexicon, owner, member, group):
    sender, _, _ = await open_socket(member)
    receiver, _, _ = await open_socket(owner)
    await receive_type(sender, "hello")
    await receive_type(receiver, "hello")
    await sender.send_json_to(
        {"type": "send", "group": group.code, "body": "赌\u200b博", "client_msg_id": "s1"}
    )
    error = await receive_type(sender, "error")
    assert error["code"] == "content_blocked" and error["client_msg_id"] == "s1"
    assert error["category"] == "ILL_OBSCENE_GAMBLING_VIOLENCE"  # the category, never the term
    await sender.send_json_to({"type": "send", "group": group.code, "body": "刷单", "client_msg_id": "s2"})
    ack = await receive_type(sender, "ack")
    assert ack["message"]["status"] == "held" and ack["seq"] is None
    await sender.send_json_to({"type": "send", "group": group.code, "body": "晚上好", "client_msg_id": "s3"})
    frame = await receive_type(receiver, "message")
    assert frame["message"]["body"] == "晚上好" and frame["message"]["seq"] == 1  # nothing before it
    await sender.disconnect()
    await receiver.disconnect()


def test_nickname_r10_1_is_screened_on_the_profile_page(client, lexicon, member):
    client.force_login(member)
    response = client.post("/accounts/profile/", {"nickname": "賭博王"})
    assert response.status_code == 200
    member.refresh_from_db()
    assert member.nickname != "賭博王"
    with pytest.raises(ValidationError) as info:
        identity_services.profile_update(actor=actor_for(member), nickname="刷单达人")  # hold refuses too
    assert info.value.code == "content_blocked"


def test_group_name_and_description_r10_1_are_screened(lexicon, owner):
    with pytest.raises(PolicyDenied) as info:
        group_services.group_create(actor=actor_for(owner), name="快乐賭博群")
    assert info.value.code == "content_blocked"
    with pytest.raises(PolicyDenied):
        group_services.group_create(actor=actor_for(owner), name="读书", description="加入我们 S P A M")


@pytest.mark.django_db(transaction=True)
def test_another_process_r10_1_sees_a_lexicon_change_without_restart():
    if not os.environ.get("REDIS_URL"):
        pytest.skip("processes share the lexicon version through Redis")
    env = {**os.environ, "DATABASE_URL": _database_url(), "SCREENING_VERSION_CHECK_SECONDS": "0"}
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "screen"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert _ask(worker, "新型诈骗话术")["action"] == "allow"
        services.lexicon_term_save(
            actor=Actor.system(door=Door.CLI), term="诈骗话术", category="CONDUCT_FRAUD_SPAM"
        )
        deadline = time.monotonic() + 10
        while (verdict := _ask(worker, "新型诈骗话术"))["action"] != "block" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert verdict["action"] == "block" and verdict["hits"][0]["start"] == 2
    finally:
        worker.stdin.close()
        worker.wait(timeout=10)


def _ask(worker, line: str) -> dict:
    worker.stdin.write(line + "\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
