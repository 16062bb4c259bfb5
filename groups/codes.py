"""Group identification codes (R8.2): short, unambiguous, with a check character.

Eight characters from an alphabet without 0/O and 1/I/L: seven random ones and a check character, the
position-weighted sum modulo the alphabet size. The alphabet has 31 characters, a prime, so every single
mistyped character and every swap of two neighbours is caught before any look-up.
"""

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
BODY_LENGTH = 7


def _check_char(body: str) -> str:
    total = sum((index + 1) * ALPHABET.index(char) for index, char in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def group_code_new() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + _check_char(body)


def group_code_normalise(raw: str) -> str:
    return "".join(raw.split()).replace("-", "").upper()


def group_code_is_valid(code: str) -> bool:
    if len(code) != BODY_LENGTH + 1 or any(char not in ALPHABET for char in code):
        return False
    return _check_char(code[:-1]) == code[-1]


CLIENT_MSG_ID_MAX = 64


def client_msg_id_clean(value) -> str | None:
    """A client's id of its message (the retry key): 1 to 64 printable characters once trimmed, or None.
    No control characters, lone surrogates or NUL, which the database refuses in text."""
    cleaned = value.strip() if isinstance(value, str) else ""
    if not cleaned or len(cleaned) > CLIENT_MSG_ID_MAX or not cleaned.isprintable():
        return None
    return cleaned
