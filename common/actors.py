"""Who acts, and through which door. Every service takes an ``Actor`` first (house rule 5)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


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
        port = meta.get("REMOTE_PORT")
        return cls.for_user(
            request.user, door=door, ip=meta.get("REMOTE_ADDR"), port=int(port) if port else None
        )

    @classmethod
    def from_scope(cls, scope) -> Actor:
        client = scope.get("client") or (None, None)
        return cls.for_user(scope.get("user"), door=Door.WS, ip=client[0], port=client[1])

    @classmethod
    def system(cls, *, door: Door = Door.TASK) -> Actor:
        return cls(user=None, kind=ActorKind.SYSTEM, door=door)
