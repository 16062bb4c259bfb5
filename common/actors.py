"""Who acts, and through which door. Every service takes an ``Actor`` first (house rule 5)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


def _valid_ip(raw) -> str | None:
    """A valid address in its normal form, without an IPv6 zone (which PostgreSQL's inet refuses)."""
    try:
        return str(ipaddress.ip_address(str(raw or "").strip().split("%")[0]))
    except ValueError:
        return None


def _valid_port(raw) -> int | None:
    text = str(raw or "")
    return int(text) if text.isascii() and text.isdigit() and int(text) < 65536 else None


def _trusted(ip: str | None) -> bool:
    from django.conf import settings

    if ip is None:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.TRUSTED_PROXIES)


def client_address(meta) -> tuple[str | None, int | None]:
    """The client's address and source port (R13.2). Forwarded headers are believed only when the
    request came from a configured trusted proxy; anything that is not a valid address is dropped."""
    from django.conf import settings

    meta = meta or {}
    ip = _valid_ip(meta.get("REMOTE_ADDR"))
    port = _valid_port(meta.get("REMOTE_PORT"))
    if _trusted(ip) and meta.get("HTTP_X_FORWARDED_FOR"):
        hops = [_valid_ip(hop) for hop in str(meta["HTTP_X_FORWARDED_FOR"]).split(",")]
        for hop in reversed(hops):  # the nearest hop that is not one of our proxies is the client
            if hop is None:
                break
            if not _trusted(hop):
                ip = hop
                port = _valid_port(meta.get(settings.CLIENT_PORT_HEADER))
                break
    return ip, port


def client_ip(meta) -> str | None:
    return client_address(meta)[0]


def scope_meta(scope) -> dict:
    """A socket's scope in the shape of request.META, for ``client_address``."""
    client = scope.get("client") or (None, None)
    meta = {"REMOTE_ADDR": client[0], "REMOTE_PORT": client[1]}
    for name, value in scope.get("headers") or []:
        meta["HTTP_" + name.decode("latin-1").upper().replace("-", "_")] = value.decode("latin-1")
    return meta


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
        ip, port = client_address(request.META)
        return cls.for_user(request.user, door=door, ip=ip, port=port)

    @classmethod
    def from_scope(cls, scope) -> Actor:
        ip, port = client_address(scope_meta(scope))
        return cls.for_user(scope.get("user"), door=Door.WS, ip=ip, port=port)

    @classmethod
    def system(cls, *, door: Door = Door.TASK) -> Actor:
        return cls(user=None, kind=ActorKind.SYSTEM, door=door)
