"""Account services: the one door for every change to an account."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from audit.services import audit_record
from common.actors import Actor
from identity import policies


def user_register(*, actor: Actor, username: str, password: str, nickname: str):
    """R5.1: registration. Creates the account with a hashed password and audits it."""
    policies.require_register(actor)
    user_model = get_user_model()
    user = user_model(username=username, nickname=nickname or username)
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.full_clean(exclude=["password"])
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # a parallel sign-up took the name between the check and the save
            raise ValidationError(
                {"username": _("This account name is taken. Please choose another.")}, code="username_taken"
            ) from None
        audit_record(
            actor=actor, event_type="identity.user_registered", target=user, data={"username": username}
        )
    return user


def user_create_staff(*, actor: Actor, username: str, password: str, nickname: str, superuser: bool = False):
    """Create a staff account (command line and seeding); audited like any account change."""
    user_model = get_user_model()
    with transaction.atomic():
        user = user_model(username=username, nickname=nickname, is_staff=True, is_superuser=superuser)
        user.set_password(password)
        user.save()
        audit_record(
            actor=actor,
            event_type="identity.staff_created",
            target=user,
            data={"username": username, "superuser": superuser},
        )
    return user
