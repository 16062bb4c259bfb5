"""Pictures and files in chat (issue 10): real types, no metadata, limits, and private links."""

import asyncio
import io
import time

from django.contrib.auth.models import Permission
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageDraw

from common.asgi_limits import BodySizeLimit, body_limit
from groups import attachments, selectors, services
from groups.models import Attachment, Message
from tests.conftest import actor_for
from tests.factories import UserFactory


def photo(width=640, height=480, *, seed=1, exif=None, fmt="JPEG") -> bytes:
    """A photo-like picture (gradients and shapes, not a flat colour)."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for i in range(12):
        x = (seed * 97 + i * 53) % width
        y = (seed * 31 + i * 71) % height
        draw.ellipse((x, y, x + width // 6, y + height // 5), fill=((seed * 40 + i * 20) % 255, 80, 160))
    out = io.BytesIO()
    if exif is not None:
        image.save(out, fmt, exif=exif)
    else:
        image.save(out, fmt)
    return out.getvalue()


def exif_with_location() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "QunzuTestCam"  # Make
    exif[0x0131] = "SecretSoftware"  # Software
    exif[0x0112] = 6  # orientation: rotate 90° to show upright
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 5.0)}  # GPS
    return exif


def upload(client, group, data: bytes, name: str, *, client_msg_id="f1", caption=""):
    return client.post(
        f"/api/groups/{group.code}/files/",
        {"file": SimpleUploadedFile(name, data), "caption": caption, "client_msg_id": client_msg_id},
    )


def stored_bytes(attachment: Attachment, variant="original") -> bytes:
    name = attachment.thumbnail_name if variant == "thumb" else attachment.stored_name
    with attachments.store().open(name, "rb") as handle:
        return handle.read()


def test_picture_is_stored_without_exif_or_location_issue10(client, member, group):
    original = photo(exif=exif_with_location())
    assert b"QunzuTestCam" in original
    client.force_login(member)
    response = upload(client, group, original, "IMG_0001.JPG", caption="今天的晚霞")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["body"] == "今天的晚霞" and body["attachment"]["kind"] == "image"
    attachment = Attachment.objects.get()
    stored = stored_bytes(attachment)
    assert b"QunzuTestCam" not in stored and b"SecretSoftware" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert dict(image.getexif()) == {}
        assert image.size == (480, 640)  # the orientation was applied to the pixels before EXIF went
    assert attachment.name == "IMG_0001.jpg" and attachment.content_type == "image/jpeg"
    with Image.open(io.BytesIO(stored_bytes(attachment, "thumb"))) as thumb:
        assert max(thumb.size) <= 480 and thumb.format == "WEBP"


def test_renamed_executable_is_refused_and_nothing_is_stored_issue10(client, member, group, attachment_root):
    before = {p for p in attachment_root.rglob("*") if p.is_file()}
    executable = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 400
    client.force_login(member)
    response = upload(client, group, executable, "holiday.jpg")
    assert response.status_code == 400
    assert response.json()["code"] == "file_type_refused"
    elf = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
    assert upload(client, group, elf, "report.pdf", client_msg_id="f2").json()["code"] == "file_type_refused"
    assert not Attachment.objects.exists() and not Message.objects.filter(attachment__isnull=False).exists()
    assert {p for p in attachment_root.rglob("*") if p.is_file()} == before


def test_documents_keep_their_bytes_and_text_is_recognised_issue10(client, member, group):
    client.force_login(member)
    pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
    response = upload(client, group, pdf, "会议纪要.pdf.exe")
    assert response.status_code == 201, response.content
    assert response.json()["attachment"]["name"] == "会议纪要.pdf.pdf"
    assert stored_bytes(Attachment.objects.get()) == pdf
    text = upload(client, group, "第一行\n第二行\n".encode(), "名单.csv", client_msg_id="f2")
    assert text.status_code == 201 and text.json()["attachment"]["content_type"] == "text/plain"
    assert text.json()["attachment"]["name"] == "名单.csv"


def test_file_above_the_members_level_is_refused_before_storing_r7_3(client, member, group, attachment_root):
    """At a level that allows 5 MB, 6 MB is refused with the level's limit, and nothing is stored."""
    from credit.models import CreditLevel
    from credit.selectors import capabilities_for, grid_cache_refresh

    CreditLevel.objects.filter(number=capabilities_for(member).level.number).update(max_upload_mb=5)
    grid_cache_refresh()
    before = {p for p in attachment_root.rglob("*") if p.is_file()}
    client.force_login(member)
    big = b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024)
    response = upload(client, group, big, "big.pdf")
    assert response.status_code == 403
    body = response.json()
    assert (
        body["code"] == "file_too_large" and "5.0 MB" in body["detail"] and body["action_url"] == "/credit/"
    )
    assert {p for p in attachment_root.rglob("*") if p.is_file()} == before


def test_level_without_uploads_is_refused_r7_3(client, member, group):
    from credit.models import CreditLevel
    from credit.selectors import grid_cache_refresh

    CreditLevel.objects.update(max_upload_mb=0)
    grid_cache_refresh()
    client.force_login(member)
    response = upload(client, group, photo(), "a.jpg")
    assert response.status_code == 403 and response.json()["code"] == "level_cannot_upload"


async def _run_asgi(app, scope, chunks):
    pulled, sent = [], []

    async def receive():
        if len(pulled) < len(chunks):
            pulled.append(chunks[len(pulled)])
            return {"type": "http.request", "body": pulled[-1], "more_body": len(pulled) < len(chunks)}
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    async def downstream(scope, receive, send):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect" or not message.get("more_body"):
                break
        if message["type"] != "http.disconnect":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

    await asyncio.wait_for(BodySizeLimit(app or downstream)(scope, receive, send), 5)
    return pulled, sent


def test_oversized_upload_is_refused_before_the_body_is_read_issue10():
    limit = body_limit()
    scope = {
        "type": "http",
        "path": "/api/groups/ABCDEFGH/files/",
        "headers": [(b"content-length", str(limit + 1).encode())],
    }
    pulled, sent = asyncio.run(_run_asgi(None, scope, [b"x" * 1024] * 4))
    assert pulled == []  # not one byte read
    assert sent[0]["status"] == 413 and b"body_too_large" in sent[1]["body"]
    # A body without a length is cut off as soon as it passes the limit.
    chunk = b"x" * (limit // 4 + 1)
    scope["headers"] = []
    pulled, sent = asyncio.run(_run_asgi(None, scope, [chunk] * 10))
    assert len(pulled) == 4 and sent[0]["status"] == 413
    # Within the limit nothing changes.
    pulled, sent = asyncio.run(_run_asgi(None, {**scope, "path": "/"}, [b"small"]))
    assert sent[0]["status"] == 200


def _open_and_fetch(client, attachment, variant=""):
    response = client.get(f"/files/{attachment.token}/{variant}")
    assert response.status_code == 302, response.content
    assert response["Cache-Control"] == "no-store"
    return response["Location"]


def test_only_members_fetch_and_a_former_members_link_stops_working_r8_6(client, owner, member, group):
    client.force_login(member)
    upload(client, group, photo(), "p.jpg")
    attachment = Attachment.objects.get()
    raw = _open_and_fetch(client, attachment)
    fetched = client.get(raw)
    assert fetched.status_code == 200 and fetched["Content-Type"] == "image/jpeg"
    assert b"".join(fetched.streaming_content) == stored_bytes(attachment)
    assert fetched["X-Content-Type-Options"] == "nosniff" and "sandbox" in fetched["Content-Security-Policy"]
    assert client.get(_open_and_fetch(client, attachment, "thumb/"))["Content-Type"] == "image/webp"
    # Someone else cannot use the member's link, nor open the file themselves.
    stranger = UserFactory()
    client.force_login(stranger)
    assert client.get(raw).status_code == 404
    assert client.get(f"/files/{attachment.token}/").status_code == 404
    # The member is removed: the link they already hold stops working at once.
    services.membership_remove(actor=actor_for(owner), group=group, member=member, reason="测试")
    client.force_login(member)
    assert client.get(raw).status_code == 404
    assert client.get(f"/files/{attachment.token}/").status_code == 404
    client.logout()
    assert "/login/" in client.get(f"/files/{attachment.token}/")["Location"]


def test_expired_link_is_refused_issue10(client, member, group, monkeypatch, settings):
    client.force_login(member)
    upload(client, group, photo(), "p.jpg")
    raw = _open_and_fetch(client, Attachment.objects.get())
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() + settings.ATTACHMENT_URL_SECONDS + 5)
    expired = client.get(raw)
    assert expired.status_code == 403 and "这个链接已过期" in expired.content.decode()
    assert client.get(raw.replace("s=", "s=x")).status_code == 404  # a tampered signature


def test_removed_file_is_hidden_from_members_and_kept_for_compliance_r13_2(client, owner, member, group):
    client.force_login(member)
    message_id = upload(client, group, photo(), "p.jpg").json()["id"]
    message = Message.objects.get(pk=message_id)
    services.message_remove(actor=actor_for(owner), message=message, reason="测试")
    attachment = Attachment.objects.get()
    assert client.get(f"/files/{attachment.token}/").status_code == 404
    payload = selectors.message_payload(Message.objects.get(pk=message_id))
    assert payload["attachment"] is None and payload["body"] == ""
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_attachment"))
    client.force_login(staff)
    assert client.get(client.get(f"/files/{attachment.token}/")["Location"]).status_code == 200
    assert stored_bytes(attachment)  # the evidence stays in the store


def test_file_message_keeps_sequence_idempotency_and_reaches_history_r13_2(client, member, group):
    client.force_login(member)
    first = upload(client, group, photo(), "p.jpg", client_msg_id="same")
    again = upload(client, group, photo(seed=2), "q.jpg", client_msg_id="same")
    assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Attachment.objects.count() == 1
    text, _created = services.message_send(
        actor=actor_for(member), group=group, body="配图如上", client_msg_id="t1"
    )
    assert text.seq == first.json()["seq"] + 1
    history = client.get(f"/api/groups/{group.code}/messages/").json()
    assert [m["attachment"] is not None for m in history][-2:] == [True, False]


def test_a_muted_member_cannot_send_files_either_r9_2(client, owner, member, group):
    services.membership_mute(actor=actor_for(owner), group=group, member=member, minutes=10, reason="测试")
    client.force_login(member)
    response = upload(client, group, photo(), "p.jpg")
    assert response.status_code == 403 and response.json()["code"] == "muted"
    assert not Attachment.objects.exists()


def test_retention_erases_removed_files_unless_held_r13_2(client, owner, member, group, settings):
    from datetime import timedelta

    from django.utils import timezone

    from audit import services as audit_services
    from common.actors import Actor, Door

    client.force_login(member)
    first = Message.objects.get(pk=upload(client, group, photo(), "a.jpg", client_msg_id="a").json()["id"])
    kept = Message.objects.get(
        pk=upload(client, group, photo(seed=3), "b.jpg", client_msg_id="b").json()["id"]
    )
    for message in (first, kept):
        services.message_remove(actor=actor_for(owner), message=message, reason="测试")
    long_ago = timezone.now() - timedelta(days=settings.RETENTION_DAYS["removed_messages"] + 1)
    Message.objects.filter(pk=first.pk).update(removed_at=long_ago)
    system = Actor.system(door=Door.TASK)
    run = audit_services.retention_purge(actor=system, record_class="removed_messages")
    assert run.removed == 1
    first.refresh_from_db()
    assert first.body == "" and first.purged_at is not None and first.seq  # the tombstone stays
    erased = first.attachment
    erased.refresh_from_db()
    assert erased.stored_name == "" and erased.sha256  # the record of what it was stays
    assert stored_bytes(Attachment.objects.get(message=kept))  # still within its retention period
    # A legal hold on the group keeps even an expired one whole.
    Message.objects.filter(pk=kept.pk).update(removed_at=long_ago)
    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="export_auditevent"))
    audit_services.legal_hold_set(
        actor=actor_for(officer), target_type="group", target_id=group.code, reason="调查"
    )
    assert audit_services.retention_purge(actor=system, record_class="removed_messages").removed == 0
    assert stored_bytes(Attachment.objects.get(message=kept))


def test_known_prohibited_picture_and_its_resized_copy_are_blocked_r10_1(client, member, group):
    from screening import services as screening_services
    from screening.models import ScreeningEvidence

    officer = UserFactory(is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="change_lexiconterm"))
    bad = photo(800, 600, seed=7)
    screening_services.prohibited_image_add(
        actor=actor_for(officer),
        image_bytes=bad,
        category="ILL_OBSCENE_GAMBLING_VIOLENCE",
        action="block",
        note="测试",
    )
    with Image.open(io.BytesIO(bad)) as image:
        small = image.resize((400, 300))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=35)
    client.force_login(member)
    for n, data in enumerate((bad, out.getvalue())):
        response = upload(client, group, data, f"转发{n}.jpg", client_msg_id=f"bad-{n}")
        assert response.status_code == 403, response.content
        assert (
            response.json()["code"] == "content_blocked"
            and response.json()["category"] == "ILL_OBSCENE_GAMBLING_VIOLENCE"
        )
    assert not Attachment.objects.exists()
    assert ScreeningEvidence.objects.filter(file_sha256__gt="").count() == 2  # the evidence is kept
    allowed = upload(client, group, photo(800, 600, seed=99), "风景.jpg", client_msg_id="fine")
    assert allowed.status_code == 201


def test_group_list_names_a_picture_sent_without_a_caption_issue10(client, member, group):
    client.force_login(member)
    upload(client, group, photo(), "p.jpg")
    page = client.get(f"/groups/{group.code}/").content.decode()
    assert "[图片]" in page  # the last message of the group, in the group list
    assert 'class="attachment image"' in page and "/files/" in page
