import pytest

from common.actors import Actor, Door
from screening import matcher, services
from screening.models import Action, LexiconVersion


@pytest.fixture
def lexicon(db):
    system = Actor.system(door=Door.CLI)
    for term, category, action in [
        ("赌博", "ILL_OBSCENE_GAMBLING_VIOLENCE", Action.BLOCK),
        ("刷单", "CONDUCT_FRAUD_SPAM", Action.HOLD),
        ("spam", "CONDUCT_FRAUD_SPAM", Action.BLOCK),
        ("加微信", "ACCT_CONTACT_EMBED", Action.FLAG),
    ]:
        services.lexicon_term_save(actor=system, term=term, category=category, action=action)
    services.allow_entry_save(actor=system, phrase="反赌博宣传")
    matcher.announce(LexiconVersion.objects.latest("pk").pk)
