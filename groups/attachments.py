"""Pictures and files sent in chat: what a file really is (read from its content, never from its name),
pictures re-encoded without their metadata, thumbnails, and the private store they are kept in.

No database here: ``services.message_send_file`` decides who may send what and records it.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import unicodedata
import warnings
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

# The real type (from the content) -> the extension the stored file gets.
IMAGE_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
FILE_TYPES = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "text/plain": "txt",
}
TEXT_EXTENSIONS = {"txt", "csv", "md"}
NAME_MAX = 120
SNIFF_BYTES = 8192


@dataclass
class PreparedFile:
    """A file as it will be stored: for a picture, re-encoded (no EXIF, no location) with a thumbnail."""

    kind: str  # "image" or "file"
    name: str
    content_type: str
    extension: str
    data: bytes
    sha256: str
    thumbnail: bytes | None = None
    width: int | None = None
    height: int | None = None


def allowed_kinds_text() -> str:
    return _("pictures (JPEG, PNG, GIF, WebP), PDF, Word, Excel, PowerPoint, OpenDocument and plain text")


def clean_name(raw: str, extension: str) -> str:
    """The member's file name, without paths or control characters, ending in the real type's extension."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[: NAME_MAX - len(extension) - 1].strip() or _("file")
    return f"{stem}.{extension}"


def _declared_extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in (name or "") else ""


def _refused_type() -> ValidationError:
    return ValidationError(
        _("This kind of file can't be sent. Allowed: %(kinds)s.") % {"kinds": allowed_kinds_text()},
        code="file_type_refused",
    )


def prepare(data: bytes, name: str) -> PreparedFile:
    """Identify ``data`` by its content and make it safe to store: a picture is decoded and re-encoded
    (which drops EXIF, GPS and any other metadata, and anything hidden after the image data), a document
    is kept as it is. Anything else, an executable with a picture's name included, is refused."""
    if not data:
        raise ValidationError(_("The file is empty."), code="file_empty")
    content_type = filetype.guess_mime(data[:SNIFF_BYTES])
    if content_type in IMAGE_TYPES:
        return _prepare_image(data, name, content_type)
    if content_type is None and _is_plain_text(data):
        content_type = "text/plain"
    if content_type not in FILE_TYPES:
        raise _refused_type()
    extension = FILE_TYPES[content_type]
    if content_type == "text/plain" and _declared_extension(name) in TEXT_EXTENSIONS:
        extension = _declared_extension(name)
    return PreparedFile(
        kind="file",
        name=clean_name(name, extension),
        content_type=content_type,
        extension=extension,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _is_plain_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _unreadable_picture() -> ValidationError:
    return ValidationError(_("The picture could not be read; it may be damaged."), code="image_unreadable")


def _prepare_image(data: bytes, name: str, content_type: str) -> PreparedFile:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > settings.ATTACHMENT_MAX_PIXELS:
                raise ValidationError(
                    _("The picture is too large (%(w)d × %(h)d pixels).") % {"w": width, "h": height},
                    code="image_too_large",
                )
            encoded, extension, out_type = _reencode(image, content_type)
            thumbnail = _thumbnail(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(_("The picture is too large to open."), code="image_too_large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise _unreadable_picture() from None
    width, height = _size_of(encoded)
    return PreparedFile(
        kind="image",
        name=clean_name(name, extension),
        content_type=out_type,
        extension=extension,
        data=encoded,
        sha256=hashlib.sha256(encoded).hexdigest(),
        thumbnail=thumbnail,
        width=width,
        height=height,
    )


def _size_of(encoded: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(encoded)) as image:
        return image.size


def _reencode(image: Image.Image, content_type: str) -> tuple[bytes, str, str]:
    """The picture's pixels only, in its own format: nothing of the original file is copied (no EXIF, no
    XMP, no comments, no trailing data); the EXIF orientation is applied to the pixels first."""
    out = io.BytesIO()
    if content_type == "image/gif" and getattr(image, "is_animated", False):
        frames = [frame.copy() for frame in _frames(image)]
        frames[0].save(
            out,
            "GIF",
            save_all=True,
            append_images=frames[1:],
            loop=image.info.get("loop", 0),
            duration=image.info.get("duration", 100),
            disposal=2,
        )
        return out.getvalue(), "gif", "image/gif"
    upright = ImageOps.exif_transpose(image)
    if content_type == "image/jpeg":
        upright.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
        return out.getvalue(), "jpg", "image/jpeg"
    if content_type == "image/webp":
        upright.save(out, "WEBP", quality=90)
        return out.getvalue(), "webp", "image/webp"
    converted = upright if upright.mode in ("RGB", "RGBA", "L", "LA", "P") else upright.convert("RGBA")
    converted.save(out, "PNG")
    return out.getvalue(), "png", "image/png"


def _frames(image: Image.Image):
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        yield image.convert("RGBA")


def _thumbnail(image: Image.Image) -> bytes:
    """A small WebP for the chat (at most ``ATTACHMENT_THUMBNAIL_PX`` on its longer side)."""
    if getattr(image, "is_animated", False):
        image.seek(0)
    small = ImageOps.exif_transpose(image).copy()
    small.thumbnail((settings.ATTACHMENT_THUMBNAIL_PX, settings.ATTACHMENT_THUMBNAIL_PX))
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA")
    out = io.BytesIO()
    small.save(out, "WEBP", quality=80)
    return out.getvalue()


# --- the private store --------------------------------------------------------------------------------


def store():
    return storages["attachments"]


def save(prepared: PreparedFile) -> tuple[str, str]:
    """Write the file (and its thumbnail) under an unguessable name; returns (name, thumbnail name)."""
    key = f"{timezone.now():%Y/%m}/{secrets.token_hex(16)}"
    name = store().save(f"{key}.{prepared.extension}", ContentFile(prepared.data))
    thumbnail = ""
    if prepared.thumbnail is not None:
        thumbnail = store().save(f"{key}-thumb.webp", ContentFile(prepared.thumbnail))
    return name, thumbnail


def discard(*names: str) -> None:
    """Remove files written for a message that was then not recorded (refused, or a repeat)."""
    for name in names:
        if name:
            store().delete(name)
