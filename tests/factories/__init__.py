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


def ensure_default_levels() -> None:
    """The migration's credit levels (a transactional test's flush removes them for the next one)."""
    import importlib

    from credit.models import CreditLevel

    levels = importlib.import_module("credit.migrations.0002_default_levels").LEVELS
    upload_mb = importlib.import_module("credit.migrations.0004_uploads").UPLOAD_MB
    for number, name, name_en, min_score, own, join, size, cats, per_minute, admin, how, how_en in levels:
        CreditLevel.objects.get_or_create(
            number=number,
            defaults=dict(
                name=name,
                name_en=name_en,
                min_score=min_score,
                max_groups_owned=own,
                max_groups_joined=join,
                max_group_size=size,
                creatable_categories=cats,
                messages_per_minute=per_minute,
                may_be_admin=admin,
                how_to_reach=how,
                how_to_reach_en=how_en,
                max_upload_mb=upload_mb[number],
            ),
        )


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

    @factory.post_generation
    def credit_score(obj, create, extracted, **kwargs):
        """Test users stand at level 4 (score 100) unless a test asks otherwise (a score, or "earned" for
        what the account earned itself): most tests are about something else than credit."""
        ensure_default_levels()
        if not create:
            return
        from credit.models import CreditAccount, CreditEvent

        account, _created = CreditAccount.objects.get_or_create(user=obj)
        account.refresh_from_db()
        if extracted == "earned":  # only what the account earned itself (verification)
            return
        target = 100 if extracted is None else extracted
        if target != account.score:
            CreditEvent.objects.create(
                account=account, delta=target - account.score, reason="staff_adjustment", source_ref="factory"
            )
            CreditAccount.objects.filter(pk=account.pk).update(score=target)


def UnverifiedUserFactory(**fields):
    """A signed-up account that has not accepted the agreements nor verified its identity."""
    return UserFactory(verified=False, **fields)
