"""URL converters that accept only what a group code or an invitation token can look like.

Anything else (a NUL byte, a slash, a 10 kB string) is a plain 404 before any query is made.
"""


class GroupCodeConverter:
    regex = "[0-9A-Za-z]{8}"

    def to_python(self, value: str) -> str:
        return value.upper()

    def to_url(self, value: str) -> str:
        return value


class InviteTokenConverter:
    regex = "[0-9A-Za-z_-]{16,40}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
