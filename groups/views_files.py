"""The file view: pictures and files of chat messages, for those who may see them, through short-lived links.

``/files/<token>/`` (and ``/thumb/``) checks the reader on every request and answers with a link that lives
``ATTACHMENT_URL_SECONDS``: a signed ``/raw/`` address bound to the reader, checked again when it is
fetched, which streams the file from the store (the file system, or a private S3 bucket that browsers never
reach). A former member's link stops working at once; a removed file is gone for members and stays for
compliance staff.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from common.actors import Actor
from groups import attachments, selectors

SALT = "groups.attachment-link"
VARIANTS = ("original", "thumb")


def _stored_name(attachment, variant: str) -> str:
    name = attachment.thumbnail_name if variant == "thumb" else attachment.stored_name
    if not name:
        raise Http404
    return name


def _disposition(attachment, variant: str) -> bool:
    """Pictures open in the browser; documents are downloaded (never rendered on this site's origin)."""
    return variant == "original" and attachment.kind != "image"


@login_required
@require_GET
def attachment_open(request, token: str, variant: str = "original"):
    attachment, _message = selectors.attachment_get_for_actor(Actor.from_request(request), token)
    _stored_name(attachment, variant)  # 404 for a picture without a thumbnail, or a purged file
    signed = signing.dumps({"t": token, "v": variant, "u": request.user.pk}, salt=SALT, compress=False)
    return _no_store(redirect(f"{reverse('attachment-raw', args=[token])}?s={signed}"))


def _no_store(response):
    response["Cache-Control"] = "no-store"  # the redirect is per reader and per minute
    return response


@login_required
@require_GET
def attachment_raw(request, token: str):
    try:
        link = signing.loads(request.GET.get("s", ""), salt=SALT, max_age=settings.ATTACHMENT_URL_SECONDS)
    except signing.SignatureExpired:
        return HttpResponse(
            _("This link has expired. Open the file again from the chat."),
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    except signing.BadSignature:
        raise Http404 from None
    if not isinstance(link, dict) or link.get("t") != token or link.get("u") != request.user.pk:
        raise Http404
    variant = link.get("v") if link.get("v") in VARIANTS else "original"
    # Checked again: membership may have ended since the link was made.
    attachment, _message = selectors.attachment_get_for_actor(Actor.from_request(request), token)
    name = _stored_name(attachment, variant)
    try:
        handle = attachments.store().open(name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        content_type="image/webp" if variant == "thumb" else attachment.content_type,
        as_attachment=_disposition(attachment, variant),
        filename=attachment.name,
    )
    response["Cache-Control"] = f"private, max-age={settings.ATTACHMENT_URL_SECONDS}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    )
    return response
