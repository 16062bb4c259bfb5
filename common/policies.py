"""Policy decisions and the refusal they raise (house rules 2 and 3)."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied


class PolicyDenied(PermissionDenied):
    """A rule refused the action. ``code`` is stable and machine-readable; ``message`` is for people."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        action_url: str = "",
        retry_after: int | None = None,
        extra: dict | None = None,
    ):
        super().__init__(message or code)
        self.code = code
        self.message = str(message or code)
        self.action_url = action_url  # where the user can fix it (verify, accept the agreement…)
        self.retry_after = retry_after  # seconds to wait, for refusals that end by themselves (rates)
        self.extra = extra or {}  # further machine-readable fields (a screening category…)


@dataclass(frozen=True)
class Decision:
    """What ``can_<verb>`` returns: allowed, or refused with a reason code and a readable reason."""

    allowed: bool
    code: str = ""
    reason: str = ""
    action_url: str = ""

    def __bool__(self) -> bool:
        return self.allowed

    def require(self) -> None:
        if not self.allowed:
            raise PolicyDenied(self.code, self.reason, action_url=self.action_url)


ALLOW = Decision(True)


def deny(code: str, reason, *, action_url: str = "") -> Decision:
    return Decision(False, code, str(reason), action_url)
