import pytest

from common.actors import Actor, Door
from groups import services
from tests.factories import UserFactory


@pytest.fixture(scope="session")
def attachment_root(tmp_path_factory):
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(autouse=True)
def _attachment_store(settings, attachment_root):
    """Pictures and files of the tests go to a temporary directory, never into the project."""
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(attachment_root)},
        },
    }


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Fast password hashing; tasks in process (tests/config/test_celery_worker.py uses a real worker)."""
    from django.core.cache import cache

    from common import sms
    from config.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_BACKEND = "common.sms.LocmemBackend"
    settings.IDENTITY_VERIFIER = "fake"
    settings.AUDIT_VERIFY_WORKERS = 1  # worker threads cannot see a test's uncommitted rows
    sms.outbox.clear()
    cache.clear()  # throttle counters must not leak between tests
    from screening import matcher

    matcher._state.update(matcher=None, checked_at=0.0)  # each test sees its own lexicon
    from credit import selectors as credit_selectors

    credit_selectors._grid_state.update(levels=None, read_at=0.0)  # and its own credit grid
    from groups import selectors as group_selectors

    group_selectors.emergency_cache_reset()  # and its own emergency measures
    app.conf.task_always_eager = True
    yield


def actor_for(user, door: Door = Door.WEB) -> Actor:
    return Actor.for_user(user, door=door, ip="127.0.0.1", port=50000)


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", nickname="群主")


@pytest.fixture
def member(db):
    return UserFactory(username="member", nickname="成员")


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider", nickname="路人")


@pytest.fixture
def group(owner, member):
    """A group with its owner and one member, built through the services."""
    chat = services.group_create(actor=actor_for(owner), name="读书会", description="每月共读")
    services.membership_join(actor=actor_for(member), group=chat, invite_token=chat.invite_token)
    chat.refresh_from_db()
    return chat


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Transactional tests empty the tables with TRUNCATE, which the audit trail's append-only trigger
    refuses. The test database alone disables that one trigger; the trigger's own test enables it again
    inside its transaction."""
    # Persistent connections are for servers (config/settings.py): in tests a connection kept open by a
    # socket's worker thread would stop the test database from being dropped at the end.
    from django.db import connection, connections

    connections.settings["default"]["CONN_MAX_AGE"] = 0
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_truncate")
    yield
    # The socket threads keep connections of their own (each send thread one): ended before the test
    # database is dropped, which PostgreSQL refuses while anyone is connected.
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture
def lexicon(db):
    """A small lexicon: 赌博 blocks, 刷单 holds, spam blocks, 加微信 flags; 反赌博宣传 is allowed."""
    from common.actors import Actor, Door
    from screening import matcher
    from screening import services as screening_services
    from screening.models import Action, LexiconVersion

    system = Actor.system(door=Door.CLI)
    for term, category, action in [
        ("赌博", "ILL_OBSCENE_GAMBLING_VIOLENCE", Action.BLOCK),
        ("刷单", "CONDUCT_FRAUD_SPAM", Action.HOLD),
        ("spam", "CONDUCT_FRAUD_SPAM", Action.BLOCK),
        ("加微信", "ACCT_CONTACT_EMBED", Action.FLAG),
    ]:
        screening_services.lexicon_term_save(actor=system, term=term, category=category, action=action)
    screening_services.allow_entry_save(actor=system, phrase="反赌博宣传")
    matcher.announce(LexiconVersion.objects.latest("pk").pk)
