"""Who acts, and through which door. Every service takes an ``Actor`` first (house rule 5)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


def client_ip(meta) -> str | None:
    """The client address as the server saw it, if it is a valid IP address (never a forged string).

    Which proxies may set it is the ASGI server's business (uvicorn's FORWARDED_ALLOW_IPS)."""
    raw = (meta or {}).get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


class ActorKind(StrEnum):
    MEMBER = "member"
    STAFF = "staff"
    INSPECTOR = "inspector"
    SYSTEM = "system"


class Door(StrEnum):
    WEB = "web"
    API = "api"
    WS = "ws"
    ADMIN = "admin"
    TASK = "task"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """The user (or none, for the system) behind an action, the kind of actor and the door used."""

    user: Any
    kind: ActorKind
    door: Door
    ip: str | None = None
    port: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user is not None and getattr(self.user, "is_authenticated", False))

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.is_authenticated else None

    @classmethod
    def for_user(cls, user, *, door: Door, ip: str | None = None, port: int | None = None) -> Actor:
        kind = ActorKind.STAFF if getattr(user, "is_staff", False) else ActorKind.MEMBER  # None: a visitor
        return cls(user=user, kind=kind, door=door, ip=ip, port=port)

    @classmethod
    def from_request(cls, request, *, door: Door = Door.WEB) -> Actor:
        meta = request.META
        port = str(meta.get("REMOTE_PORT") or "")
        return cls.for_user(
            request.user, door=door, ip=client_ip(meta), port=int(port) if port.isdigit() else None
        )

    @classmethod
    def from_scope(cls, scope) -> Actor:
        client = scope.get("client") or (None, None)
        return cls.for_user(
            scope.get("user"), door=Door.WS, ip=client_ip({"REMOTE_ADDR": client[0]}), port=client[1]
        )

    @classmethod
    def system(cls, *, door: Door = Door.TASK) -> Actor:
        return cls(user=None, kind=ActorKind.SYSTEM, door=door)
