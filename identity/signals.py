"""Logins, logouts and failed logins go to the audit trail (R13.2)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.utils import timezone

from audit.models import NetworkLogKind
from audit.services import audit_record, network_log_write
from common.actors import Actor, Door, client_address
from common.crypto import lookup_hash
from common.realtime import publish_now, user_channel
from identity.idnumber import mask_phone, parse_mobile
from identity.models import UserSession
from identity.services import user_session_record


def _actor(request, user) -> Actor:
    """The actor of a login event. Never reads ``request.user``: on a DRF request that would start
    authentication again from inside a failed authentication."""
    if request is None:
        return Actor.for_user(user, door=Door.WEB) if user is not None else Actor.system(door=Door.WEB)
    ip, port = client_address(getattr(request, "_request", request).META)
    return Actor.for_user(user, door=Door.WEB, ip=ip, port=port)


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    actor = _actor(request, user)
    audit_record(actor=actor, event_type="identity.login", target=user)
    network_log_write(actor=actor, kind=NetworkLogKind.LOGIN)
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        user_session_record(
            actor=actor,
            session_key=session.session_key,
            user_agent=getattr(request, "META", {}).get("HTTP_USER_AGENT", ""),
        )


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=_actor(request, user), event_type="identity.logout", target=user)
        network_log_write(actor=_actor(request, user), kind=NetworkLogKind.LOGOUT)
        session = getattr(request, "session", None)
        if session is not None and session.session_key:
            UserSession.objects.filter(session_key=session.session_key).update(ended_at=timezone.now())
            publish_now(user_channel(user.pk), {"type": "session.ended", "session_key": session.session_key})


def _identifier_record(identifier: str) -> dict:
    """What a failed sign-in leaves in the trail: never a full phone number, nor a password typed into
    the name box; the account when one matched, else a keyed hash that groups repeated attempts."""
    from identity.selectors import user_get_by_login

    user = user_get_by_login(identifier)
    try:
        shown = mask_phone(parse_mobile(identifier))
    except ValidationError:
        shown = identifier[:2] + "***" if identifier else ""
    return {
        "identifier": shown,
        "identifier_hash": lookup_hash(identifier, context="login-audit")[:16],
        "user_id": user.pk if user else None,
    }


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    audit_record(
        actor=_actor(request, None),
        event_type="identity.login_failed",
        data=_identifier_record(str(credentials.get("username", ""))),
    )
