"""Perceptual fingerprints of images, for the list of known prohibited images (R10.1). Pure: no database.

An image is reduced to two 64-bit hashes: pHash (the low frequencies of its discrete cosine transform, the
one the list is searched by) and dHash (the gradient between neighbouring pixels, which confirms a pHash
match). Both barely move when a copy is resized, recompressed or slightly cropped, so the Hamming distance
between the hashes of an image and of its copy stays small while two unrelated photos differ in about half
of the bits. Hashes are stored as signed 64-bit integers so that PostgreSQL compares them as ``bigint``.

The list never holds the images themselves, only these hashes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps

HASH_BITS = 64
_MASK = (1 << HASH_BITS) - 1
# JPEG decodes at 1/2, 1/4 or 1/8 of its size when the hashes need no more (DCT scaling): five to nine times
# faster on a 12-megapixel photo, and the pHash comes out the same (measured on 4000x3000 photos: 0 bits
# apart; dHash 0-1). Every image goes through this same function, on the list and in screening.
DRAFT_SIZE = 256
# An animation is compared frame by frame: up to MAX_FRAMES frames spread over its first MAX_FRAME_SEEK (a
# prohibited picture must not hide behind a harmless first frame; seeking decodes every frame before).
MAX_FRAMES = 8
MAX_FRAME_SEEK = 120
# Formats that browsers and chat clients show as pictures. When Pillow recognises one of these but cannot
# decode it (a truncated JPEG still shows most of its picture), the file is refused, not waved through.
DISPLAYED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "ICO", "AVIF", "TIFF"})


class NotAnImage(Exception):
    """Pillow does not recognise the data as an image (a PDF, an archive, text)."""


class ImageUnreadable(Exception):
    """The data is an image that cannot be checked: ``code`` is ``image_too_large`` or ``image_damaged``."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(detail or code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class FrameHash:
    index: int  # the frame of an animation; 0 for a still image
    phash: int  # signed 64-bit, as stored
    dhash: int

    def as_dict(self) -> dict:
        return {"frame": self.index, "phash": to_hex(self.phash), "dhash": to_hex(self.dhash)}


@dataclass(frozen=True)
class Fingerprint:
    format: str
    width: int
    height: int
    frame_count: int
    frames: tuple[FrameHash, ...]

    @property
    def phash(self) -> int:
        return self.frames[0].phash

    @property
    def dhash(self) -> int:
        return self.frames[0].dhash

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "frames": self.frame_count,
            "hashes": [frame.as_dict() for frame in self.frames],
        }


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as PostgreSQL's signed ``bigint`` (two's complement)."""
    value &= _MASK
    return value - (1 << HASH_BITS) if value >> (HASH_BITS - 1) else value


def to_hex(value: int) -> str:
    """The 16 hexadecimal digits imagehash prints for the hash (``str(imagehash.phash(image))``)."""
    return f"{value & _MASK:016x}"


def distance(first: int, second: int) -> int:
    """Hamming distance: the number of bits in which two 64-bit hashes differ."""
    return ((first ^ second) & _MASK).bit_count()


def _as_int(value) -> int:
    return to_signed(int(str(value), 16))  # imagehash prints the bits as hexadecimal, first bit first


def _frame_indices(count: int, wanted: int) -> list[int]:
    if count <= wanted:
        return list(range(count))
    return sorted({round(k * (count - 1) / (wanted - 1)) for k in range(wanted)})


def _flatten(frame: Image.Image) -> Image.Image:
    """Transparent pixels are shown on white; without this their hidden colour would decide the hash."""
    if frame.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in frame.info:
        frame = frame.convert("RGBA")
        background = Image.new("RGBA", frame.size, (255, 255, 255, 255))
        background.alpha_composite(frame)
        return background.convert("RGB")
    return frame


def _hash_frame(image: Image.Image, index: int) -> FrameHash:
    import imagehash  # numpy and scipy: loaded by the first image, not by every process that screens text

    frame = _flatten(ImageOps.exif_transpose(image))  # as it is shown: EXIF orientation applied
    return FrameHash(index, _as_int(imagehash.phash(frame)), _as_int(imagehash.dhash(frame)))


def fingerprint(data: bytes, *, max_frames: int = MAX_FRAMES) -> Fingerprint:
    """The hashes of the image in ``data``. Raises ``NotAnImage`` when Pillow does not recognise it, and
    ``ImageUnreadable`` when it is too large to decode safely (Pillow's decompression-bomb limit) or
    is a picture format that does not decode (damaged, truncated)."""
    try:
        image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:  # (warnings as errors)
        raise ImageUnreadable("image_too_large", str(error)) from None
    except Exception as error:  # Pillow raises many kinds on arbitrary bytes; none of them is an image
        raise NotAnImage(str(error)) from None
    with image:
        width, height = image.size
        fmt = image.format or ""
        if Image.MAX_IMAGE_PIXELS and width * height > Image.MAX_IMAGE_PIXELS:
            raise ImageUnreadable("image_too_large", f"{width}x{height}")
        try:
            count = max(1, int(getattr(image, "n_frames", 1) or 1))
            frames = []
            for index in _frame_indices(min(count, MAX_FRAME_SEEK), max(1, max_frames)):
                image.seek(index)
                if index == 0:
                    image.draft(None, (DRAFT_SIZE, DRAFT_SIZE))
                frames.append(_hash_frame(image, index))
        except Image.DecompressionBombError as error:
            raise ImageUnreadable("image_too_large", str(error)) from None
        except Exception as error:
            if fmt in DISPLAYED_FORMATS:
                raise ImageUnreadable("image_damaged", str(error)) from None
            raise NotAnImage(str(error)) from None
    return Fingerprint(fmt, width, height, count, tuple(frames))
