import itertools

import factory
from django.contrib.auth import get_user_model

from common.actors import Actor, Door
from identity import services as identity_services
from identity.idnumber import check_character

PASSWORD = "Correct-Horse-42"
_id_numbers = itertools.count(1)


def ensure_default_agreements() -> None:
    """The migration's version 1 documents; a transactional test's flush removes them for the next one."""
    import importlib

    from identity.models import AgreementDocument

    documents = importlib.import_module("identity.migrations.0003_default_agreements").DOCUMENTS
    for kind, title, body in documents:
        AgreementDocument.objects.get_or_create(kind=kind, version=1, defaults={"title": title, "body": body})


def valid_id_number(n: int | None = None, *, birth: str = "19900101") -> str:
    """A checksum-valid resident identity number, different on every call unless ``n`` is given."""
    body = f"110105{birth}{(next(_id_numbers) if n is None else n) % 1000:03d}"
    return body + check_character(body)


class UserFactory(factory.django.DjangoModelFactory):
    """A signed-up account that has accepted the agreements and passed real-name verification (through
    the services), so that it may publish. ``UnverifiedUserFactory`` stops before verification."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    nickname = factory.Sequence(lambda n: f"昵称{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        ensure_default_agreements()
        if create and extracted is not False:
            actor = Actor.for_user(obj, door=Door.WEB)
            identity_services.agreement_accept(actor=actor)
            identity_services.verification_submit(
                actor=actor, real_name="测试用户", id_number=valid_id_number(), consent=True
            )


def UnverifiedUserFactory(**fields):
    """A signed-up account that has not accepted the agreements nor verified its identity."""
    return UserFactory(verified=False, **fields)
