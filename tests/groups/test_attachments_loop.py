"""A large upload must not stall anybody's chat (issue 10): the picture is decoded and re-encoded in the
request's own thread, outside the event loop that carries every socket."""

import asyncio
import io
import secrets
import time

import pytest
from channels.testing import HttpCommunicator
from PIL import Image

from config.asgi import application
from tests.groups.test_consumers import _session_cookie, open_socket, receive_type


def big_picture() -> bytes:
    """A 12-megapixel PNG of noise (slow to decode and re-encode, as a real large upload is)."""
    image = Image.effect_noise((4000, 3000), 80).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def multipart(fields: dict, file_field: str, name: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----qunzu" + secrets.token_hex(8)
    parts = []
    for key, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.django_db(transaction=True)
async def test_a_large_upload_leaves_the_chat_responsive_issue10(member, group):
    picture = await asyncio.to_thread(big_picture)
    body, content_type = multipart({"client_msg_id": "big-1", "caption": ""}, "file", "大图.png", picture)
    csrf = secrets.token_hex(16)
    session = await _session_cookie(member)
    upload = HttpCommunicator(
        application,
        "POST",
        f"/api/groups/{group.code}/files/",
        body=body,
        headers=[
            (b"host", b"localhost"),
            (b"content-type", content_type.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cookie", f"sessionid={session}; csrftoken={csrf}".encode()),
            (b"x-csrftoken", csrf.encode()),
            (b"origin", b"http://localhost"),
            (b"referer", b"http://localhost/"),
        ],
    )
    socket, ok, _ = await open_socket(member)
    assert ok
    await receive_type(socket, "hello")
    started = time.monotonic()
    uploading = asyncio.ensure_future(upload.get_response(timeout=120))
    pings = []
    while not uploading.done():
        sent = time.monotonic()
        await socket.send_json_to({"type": "ping"})
        await receive_type(socket, "pong")
        pings.append(time.monotonic() - sent)
        await asyncio.sleep(0.02)
    response = await uploading
    took = time.monotonic() - started
    assert response["status"] == 201, response["body"][:300]
    assert took > 0.5 and len(pings) >= 10  # the pings ran while the picture was being processed
    pings.sort()
    assert pings[-1] < 0.25, f"slowest ping {pings[-1] * 1000:.0f} ms during a {took:.1f} s upload"
    print(f"upload {took:.2f} s, {len(pings)} pings, slowest {pings[-1] * 1000:.0f} ms")
    await socket.disconnect()
    await upload.wait(timeout=10)  # the request's own clean-up (its database connection) before teardown
