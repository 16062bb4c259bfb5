"""R10.1: screening sees through disguises, maps hits to the original, keeps evidence for block and hold."""

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from common.actors import Actor, Door
from common.policies import PolicyDenied
from common.reasons import Reason
from screening import engine, matcher, services
from screening.models import Action, LexiconTerm, LexiconVersion, ScreeningEvidence
from screening.normalize import fold, fold_with_offsets
from tests.conftest import actor_for
from tests.factories import UserFactory

SYSTEM = Actor.system(door=Door.CLI)


def _screen(text, user=None):
    actor = actor_for(user) if user else SYSTEM
    return services.screen(actor=actor, text=text, context={"kind": "test"})


@pytest.mark.parametrize(
    "disguise",
    [
        "ｓｐａｍ",  # full-width
        "S\u200bP\u200dA\u2060M",  # zero-width and case
        "s.p.a.m",  # punctuation between letters
        "s p a m",  # spaces
        "ѕраm",  # Cyrillic look-alikes
        "𝐬𝐩𝐚𝐦",  # mathematical bold
        "s\u00adp\u202ea\ufeffm",  # soft hyphen, bidi override, BOM
        "spám",  # accent
    ],
)
def test_latin_evasions_r10_1_are_seen_through(lexicon, disguise):
    verdict = _screen(f"buy {disguise} now")
    assert verdict.action == Action.BLOCK, disguise
    hit = verdict.hits[0]
    original = f"buy {disguise} now"
    assert original[hit.start] == disguise[0] and original[hit.end - 1] == disguise[-1]
    assert fold(original[hit.start : hit.end]) == "spam"


@pytest.mark.parametrize(
    "disguise", ["賭博", "赌　博", "赌*博", "赌\u200b博", "賭.博", "ｄ赌博"[1:], "赌\u00ad博"]
)
def test_chinese_evasions_r10_1_are_seen_through(lexicon, disguise):
    verdict = _screen(f"今晚一起{disguise}吗")
    assert verdict.action == Action.BLOCK
    assert verdict.category == "ILL_OBSCENE_GAMBLING_VIOLENCE"


def test_combined_evasion_r10_1(lexicon):
    text = "来 賭\u200b．博 吧"
    verdict = _screen(text)
    assert verdict.action == Action.BLOCK
    hit = verdict.hits[0]
    assert text[hit.start] == "賭" and text[hit.end - 1] == "博"


def test_offsets_r10_1_map_to_the_original(lexicon):
    text = "你好ＳＰＡＭ和賭博"
    verdict = _screen(text)
    spans = {text[h.start : h.end] for h in verdict.hits}
    assert spans == {"ＳＰＡＭ", "賭博"}
    folded, origin = fold_with_offsets(text)
    assert folded == fold(text) and len(origin) == len(folded)


def test_allow_list_r10_1_suppresses_a_hit_inside_a_longer_word(lexicon):
    assert _screen("参加反赌博宣传活动").action == "allow"
    assert _screen("参加反赌博宣传，然后去赌博").action == Action.BLOCK


def test_latin_terms_r10_1_need_a_word_of_their_own(lexicon):
    assert _screen("spammer").action == "allow"
    assert _screen("is pam here").action == "allow"  # 's pam' across words is not a hit
    assert _screen("这是spam广告").action == Action.BLOCK  # next to Chinese it is a word


def test_strongest_action_r10_1_wins_and_flag_publishes(lexicon):
    assert _screen("加微信").action == Action.FLAG and _screen("加微信").publishable
    verdict = _screen("加微信刷单")
    assert verdict.action == Action.HOLD and verdict.held and verdict.publishable
    assert _screen("加微信刷单赌博").action == Action.BLOCK


def test_block_and_hold_r10_1_keep_evidence_and_an_audit_event(lexicon):
    user = UserFactory()
    verdict = _screen("来賭博", user)
    evidence = ScreeningEvidence.objects.get(pk=verdict.evidence_id)
    assert evidence.original_text == "来賭博" and evidence.normalised_text == "来赌博"
    assert evidence.hits[0]["category"] == "ILL_OBSCENE_GAMBLING_VIOLENCE"
    assert evidence.author == user and evidence.ip == "127.0.0.1" and evidence.port == 50000
    assert AuditEvent.objects.filter(event_type="screening.blocked", target_id=str(evidence.pk)).exists()
    held = _screen("刷单", user)
    assert ScreeningEvidence.objects.get(pk=held.evidence_id).action == Action.HOLD
    flagged = _screen("加微信", user)  # a flag publishes, and leaves evidence for a reviewer
    assert flagged.publishable and ScreeningEvidence.objects.get(pk=flagged.evidence_id).action == Action.FLAG


def test_refusal_r10_1_names_the_category_not_the_term(lexicon):
    refusal = _screen("赌博").refusal()
    assert isinstance(refusal, PolicyDenied) and refusal.code == "content_blocked"
    assert str(Reason.ILL_OBSCENE_GAMBLING_VIOLENCE.label) in refusal.message
    assert not any(term in refusal.message for term in ("赌博网站", "刷单"))


def test_empty_and_huge_inputs_r10_1_return_promptly(lexicon):
    import time

    assert _screen("").action == "allow"
    huge = ("正常的聊天内容，" * 12_800) + "賭博"  # about 100 KB
    started = time.perf_counter()
    verdict = _screen(huge)
    assert verdict.action == Action.BLOCK and time.perf_counter() - started < 2
    assert ScreeningEvidence.objects.get(pk=verdict.evidence_id).context["length"] == len(huge)


def test_lexicon_changes_r10_1_are_validated_versioned_and_audited(lexicon):
    with pytest.raises(ValidationError) as info:
        services.lexicon_term_save(actor=SYSTEM, term="賭博", category="ILL_OTHER")
    assert info.value.code == "term_duplicate"
    for term, category, code in [
        ("", "ILL_OTHER", "term_empty"),
        ("...", "ILL_OTHER", "term_empty"),
        ("x" * 65, "ILL_OTHER", "term_too_long"),
        ("新词", "NOPE", "category_unknown"),
    ]:
        with pytest.raises(ValidationError) as info:
            services.lexicon_term_save(actor=SYSTEM, term=term, category=category)
        assert info.value.code == code
    before = LexiconVersion.objects.count()
    term = LexiconTerm.objects.get(term="刷单")
    services.lexicon_term_save(
        actor=SYSTEM, term="刷单", category="CONDUCT_FRAUD_SPAM", action=Action.BLOCK, existing=term
    )
    assert LexiconVersion.objects.count() == before + 1
    event = AuditEvent.objects.filter(event_type="screening.term_changed").latest("seq")
    assert event.data["before"]["action"] == "hold" and event.data["after"]["action"] == "block"
    assert _screen("刷单").action == Action.BLOCK  # this process sees its own change at once


def test_only_compliance_staff_r10_1_change_the_lexicon(lexicon):
    member = UserFactory()
    with pytest.raises(PolicyDenied):
        services.lexicon_term_save(actor=actor_for(member), term="新词", category="ILL_OTHER")


def test_csv_import_r10_1_reports_bad_rows_and_imports_nothing_then(lexicon):
    bad = "term,category,action\n新词一,ILL_OTHER,block\n,ILL_OTHER,block\n新词二,NOPE,block\n" + (
        "新词一,ILL_OTHER,hold\n" + "x" * 70 + ",ILL_OTHER,flag\n新词三,ILL_OTHER,explode\n"
    )
    report = services.lexicon_import_csv(actor=SYSTEM, text=bad)
    assert not report.ok and [line for line, _m in report.errors] == [3, 4, 5, 6, 7]
    assert not LexiconTerm.objects.filter(term__startswith="新词").exists()
    good = (
        "\ufeffterm,category,action,enabled,source,notes\n"
        "新词一,ILL_OTHER,block,yes,监管通知,\n赌博,ILL_OTHER,hold,no,,\n"
    )
    report = services.lexicon_import_csv(actor=SYSTEM, text=good, source="upload.csv")
    assert report.ok and (report.created, report.updated) == (1, 1)
    assert LexiconTerm.objects.get(normalised="赌博").enabled is False
    assert AuditEvent.objects.filter(event_type="screening.lexicon_imported").exists()


def test_csv_export_r10_1_round_trips(lexicon):
    from screening.selectors import lexicon_csv

    exported = lexicon_csv()
    rows, errors = engine.parse_lexicon_csv(exported)
    assert not errors and {r["term"] for r in rows} == set(LexiconTerm.objects.values_list("term", flat=True))


def test_screen_command_r10_1_tries_a_csv_lexicon(tmp_path, monkeypatch, capsys, db):
    import io

    from django.core.management import CommandError, call_command

    lexicon_file = tmp_path / "try.csv"
    lexicon_file.write_text("term,category,action\n百家乐,ILL_OBSCENE_GAMBLING_VIOLENCE,block\n", "utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("来玩百 家 樂\n你好\n"))
    call_command("screen", "--lexicon", str(lexicon_file))
    lines = [__import__("json").loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["action"] for line in lines] == ["block", "allow"]
    assert lines[0]["hits"][0]["start"] == 2 and not ScreeningEvidence.objects.exists()  # nothing stored
    lexicon_file.write_text("term,category\n,ILL_OTHER\n", "utf-8")
    with pytest.raises(CommandError, match=":2: "):
        call_command("screen", "--lexicon", str(lexicon_file))


def test_demo_seed_r10_1_loads_the_demonstration_lexicon(db):
    from django.core.management import call_command

    call_command("seed_demo")
    assert LexiconTerm.objects.filter(source="demo", category="CONDUCT_FRAUD_SPAM").exists()
    matcher.announce(LexiconVersion.objects.latest("pk").pk)
    assert _screen("来玩百家乐").action == Action.BLOCK
    assert _screen("打击网络赌博").action == "allow"


def test_evidence_r13_2_is_purged_after_its_period_unless_held(lexicon, settings):
    from datetime import timedelta

    from django.utils import timezone

    from audit import services as audit_services
    from audit.models import LegalHold

    settings.AUDIT_DIGEST_EXPORT_PATH = "/dev/null"
    author, held_author = UserFactory(), UserFactory()
    old = [_screen("赌博", author).evidence_id, _screen("赌博", held_author).evidence_id]
    young = _screen("赌博", author).evidence_id
    ScreeningEvidence.objects.filter(pk__in=old).update(created_at=timezone.now() - timedelta(days=4 * 365))
    LegalHold.objects.create(target_type="user", target_id=str(held_author.pk), reason="案件", set_by=author)
    run = audit_services.retention_purge(actor=SYSTEM, record_class="evidence_snapshots")
    assert run.removed == 1
    assert set(ScreeningEvidence.objects.values_list("pk", flat=True)) == {old[1], young}


def test_lexicon_input_r10_1_refuses_control_characters_and_overlong_fields(lexicon):
    with pytest.raises(ValidationError) as info:
        services.lexicon_term_save(actor=SYSTEM, term="ab\x00c", category="ILL_OTHER")
    assert info.value.code == "control_characters"
    with pytest.raises(ValidationError) as info:
        services.lexicon_term_save(actor=SYSTEM, term="新词", category="ILL_OTHER", notes="n" * 301)
    assert info.value.code == "too_long"
    report = services.lexicon_import_csv(actor=SYSTEM, text='term,category\n"unterminated,ILL_OTHER\n')
    assert not report.ok and not LexiconTerm.objects.filter(term__startswith="unterminated").exists()


def test_export_r10_1_is_audited_and_reimports_unchanged(lexicon):
    text = services.lexicon_export(actor=SYSTEM)
    assert AuditEvent.objects.filter(event_type="screening.lexicon_exported").exists()
    report = services.lexicon_import_csv(actor=SYSTEM, text=text, source="again.csv")
    assert report.ok and report.unchanged == LexiconTerm.objects.count() and not report.updated


@pytest.mark.parametrize(
    "disguise",
    [
        "赌\u3164博",  # Hangul filler: a letter by category, invisible
        "赌\u115f博",
        "赌\uffa0博",
        "赌🎲博",  # an emoji from another plane
        "赌\U0001d173博",  # musical format control
        "赌\U000e0041博",  # tag character
        "赌\u180e博",
        "赌\u2800博",  # braille blank
    ],
)
def test_invisible_and_astral_characters_r10_1_are_seen_through(lexicon, disguise):
    assert _screen(f"来{disguise}吧").action == Action.BLOCK


def test_digits_stuck_to_a_latin_term_r10_1_do_not_hide_it(lexicon):
    assert _screen("spam888 now").action == Action.BLOCK
    assert _screen("888spam").action == Action.BLOCK
    assert _screen("spammer").action == "allow"  # letters still make a longer word


def test_the_fold_table_r10_1_agrees_with_the_definition_everywhere():
    import random

    from screening.normalize import fold, fold_char

    rng = random.Random(7)
    sample = list(range(0, 0x3000)) + [rng.randrange(0x3000, 0x110000) for _ in range(20_000)]
    mismatches = [cp for cp in sample if not 0xD800 <= cp <= 0xDFFF and fold(chr(cp)) != fold_char(chr(cp))]
    assert mismatches == []
