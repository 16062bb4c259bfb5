"""Resident identity numbers (GB 11643-1999) and mainland mobile numbers: validation a user expects.

Every refusal carries a stable code and a message in the user's language; nothing raises anything else.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
PROVINCES = {
    11,
    12,
    13,
    14,
    15,
    21,
    22,
    23,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    41,
    42,
    43,
    44,
    45,
    46,
    50,
    51,
    52,
    53,
    54,
    61,
    62,
    63,
    64,
    65,
    71,
    81,
    82,
    83,
}
# Format characters that NFKC keeps but that must never reach a stored value.
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"}


@dataclass(frozen=True)
class IdNumber:
    value: str
    birth_date: datetime.date

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)

    def age_on(self, day: datetime.date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


def mask_id_number(value: str) -> str:
    """``1101**********002X``: the first four and the last four characters, never more."""
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_name(value: str) -> str:
    """``张*`` / ``欧阳**``: only the first character of a real name is ever shown."""
    return value[:1] + "*" * max(1, len(value) - 1) if value else ""


def check_character(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw if isinstance(raw, str) else "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in _INVISIBLE and ch != "-")


def parse_id_number(raw: str, *, today: datetime.date | None = None) -> IdNumber:
    """R6.1: a well-formed 18-character resident identity number, or ValidationError with a code."""
    value = _clean(raw).upper()
    today = today or timezone.localdate()
    if not value.isascii():  # digits of other scripts would make a second spelling of one number
        raise ValidationError(
            _("An identity number has 18 characters: 17 digits and a final digit or X."), code="id_format"
        )
    if len(value) == 15 and value.isdigit():
        raise ValidationError(
            _("15-digit identity numbers are no longer accepted; please enter your 18-character number."),
            code="id_legacy_15",
        )
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValidationError(
            _("An identity number has 18 characters: 17 digits and a final digit or X."), code="id_format"
        )
    if int(value[:2]) not in PROVINCES and value[0] != "9":
        raise ValidationError(_("The first two digits are not a known province code."), code="id_province")
    try:
        birth = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise ValidationError(
            _("The birth date inside the number is not a real date."), code="id_birth_date"
        ) from None
    if birth > today or birth.year < 1800:
        raise ValidationError(_("The birth date inside the number is impossible."), code="id_birth_date")
    if check_character(value[:17]) != value[17]:
        raise ValidationError(
            _("The last character does not match; please check the number for a typing mistake."),
            code="id_check",
        )
    return IdNumber(value=value, birth_date=birth)


def parse_real_name(raw: str) -> str:
    """A real name as printed on the ID card: 1-50 letters (Chinese, or Latin for minorities/foreigners)."""
    name = unicodedata.normalize("NFKC", raw if isinstance(raw, str) else "").strip()
    name = "".join(ch for ch in name if ch not in _INVISIBLE)
    if not name:
        raise ValidationError(_("Please enter your real name."), code="name_empty")
    if len(name) > 50:
        raise ValidationError(_("The name is too long (at most 50 characters)."), code="name_too_long")
    allowed_punctuation = {"·", ".", " ", "-"}
    if any(not (ch.isalpha() or ch in allowed_punctuation) for ch in name):
        raise ValidationError(
            _("A real name contains only letters and the separator ·."), code="name_invalid"
        )
    return name


def parse_mobile(raw: str) -> str:
    """A mainland mobile number as E.164 (+86…); refuses landlines, IoT numbers and anything else."""
    text = unicodedata.normalize("NFKC", raw if isinstance(raw, str) else "")
    text = "".join(ch for ch in text if not ch.isspace() and ch not in _INVISIBLE and ch != "-")
    if not text or len(text) > 20:
        raise ValidationError(_("Please enter an 11-digit mainland mobile number."), code="phone_invalid")
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Please enter an 11-digit mainland mobile number."), code="phone_invalid"
        ) from None
    national = str(number.national_number)
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        raise ValidationError(_("Please enter an 11-digit mainland mobile number."), code="phone_invalid")
    if len(national) != 11 or phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("This is not a mobile number that can receive text messages."), code="phone_not_mobile"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """``+86 138****8000``"""
    national = e164[3:] if e164.startswith("+86") else e164
    return f"{national[:3]}****{national[-4:]}" if len(national) >= 7 else "****"
